/**
 * The RDMA metrics exporter (spec §5): at each scrape, the host's namespace and, when RDMA's
 * netns mode is exclusive (devices then live in the pods' namespaces), every other namespace
 * are read through an RdmaSource and exported as Prometheus counters. Served on its own port.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { RdmaSource, Sample } from "./model.ts";
import { renderPrometheus } from "./render.ts";
import { samplesOf, type SampleContext } from "./samples.ts";

export interface Scrape {
  samples: Sample[];
  mode: "shared" | "exclusive";
  /** Namespaces read besides the host's. */
  namespaces: number;
  durationMs: number;
}

export class RdmaExporter {
  readonly #source: RdmaSource;
  readonly #ctx: SampleContext;
  readonly #log: Logger;
  #server: Server | undefined;
  /** The last scrape's cost, for the log and the benchmark. */
  last: Omit<Scrape, "samples"> | undefined;

  constructor(source: RdmaSource, ctx: SampleContext, log: Logger) {
    this.#source = source;
    this.#ctx = ctx;
    this.#log = log;
  }

  async collect(): Promise<Scrape> {
    const t0 = performance.now();
    const mode = await this.#source.netnsMode();
    const paths = mode === "exclusive" ? await this.#source.namespaces() : [];
    // A pod's namespace can go between the listing and the read: the source leaves it out.
    const readings = await this.#source.readAll([undefined, ...paths]);
    const samples = readings.flatMap((r) => samplesOf(r, this.#ctx));
    const scrape = { samples, mode, namespaces: paths.length, durationMs: performance.now() - t0 };
    this.last = { mode, namespaces: paths.length, durationMs: scrape.durationMs };
    return scrape;
  }

  /** Serves the metrics on every path; resolves with the port (0 picks a free one). */
  async start(port: number, host: string): Promise<number> {
    const server = createServer((_req, res) => {
      this.collect().then(
        (s) => {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(renderPrometheus(s.samples));
        },
        (err: unknown) => {
          this.#log.warn({ err: (err as Error).message }, "rdma metrics scrape failed");
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`rdma metrics: ${(err as Error).message}\n`);
        },
      );
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
  }
}
