// What one API request costs the client's CPU, whatever it asks: the agent's Transport
// (its own HTTP/1.1 on keep-alive sockets), bare node:http with a keep-alive agent, and a
// raw keep-alive socket that writes the request line and reads a Content-Length answer, the
// floor any HTTP/1.1 client on Node could reach. Then a pool's write: a PUT of half a
// megabyte answered with as much in chunks, as an API server answers a large object. The server runs in its own process on loopback, so the figures are
// the client's alone. Prints figures and the machine's load; it asserts nothing.
// Usage: npm run bench:http [-- --n N] [--json FILE]
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Transport } from "../src/kube/transport.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const { values } = parseArgs({
  options: { n: { type: "string", default: "3000" }, json: { type: "string" }, help: { type: "boolean" } },
});
if (values.help === true) {
  process.stdout.write("npm run bench:http [-- --n N] [--json FILE]\n");
  process.exit(0);
}
const N = Math.max(100, Number(values.n));
const PATH = "/apis/spiderpool.spidernet.io/v2beta1/namespaces/default/spiderendpoints/pod-0";

// The answer kube-apiserver gives a GET of a missing object.
const SERVER = `
const http = require("node:http");
const body = Buffer.from(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
  message: 'spiderendpoints.spiderpool.spidernet.io "pod-0" not found', reason: "NotFound",
  details: { name: "pod-0", group: "spiderpool.spidernet.io", kind: "spiderendpoints" }, code: 404 }));
const s = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    if (req.method !== "PUT") {
      res.writeHead(404, { "content-type": "application/json", "content-length": body.length });
      return res.end(body);
    }
    // The object back, without a length: framed in chunks, 32 KiB each.
    const all = Buffer.concat(parts);
    res.writeHead(200, { "content-type": "application/json" });
    for (let at = 0; at < all.length; at += 32768) res.write(all.subarray(at, at + 32768));
    res.end();
  });
});
s.listen(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"));
`;

interface Figures {
  client: string;
  cpuMsPerRequest: number;
  sysMsPerRequest: number;
  wallMsPerRequest: number;
}

async function measure(client: string, once: () => Promise<unknown>, n = N): Promise<Figures> {
  for (let i = 0; i < Math.min(500, n); i++) await once();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  const c = process.cpuUsage(c0);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    client,
    cpuMsPerRequest: r((c.user + c.system) / n / 1000),
    sysMsPerRequest: r(c.system / n / 1000),
    wallMsPerRequest: r((performance.now() - t0) / n),
  };
}

/** One keep-alive connection, a request at a time, Content-Length answers only. */
function rawClient(port: number): { get: () => Promise<Buffer>; close: () => void } {
  const sock = net.connect(port, "127.0.0.1");
  sock.setNoDelay(true);
  let waiting: ((b: Buffer) => void) | undefined;
  let buf: Buffer = Buffer.alloc(0);
  sock.on("data", (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const len = Number(/content-length: *(\d+)/i.exec(buf.toString("latin1", 0, end))?.[1] ?? "0");
    if (buf.length < end + 4 + len) return;
    const body = buf.subarray(end + 4, end + 4 + len);
    buf = buf.subarray(end + 4 + len);
    const w = waiting;
    waiting = undefined;
    w?.(body);
  });
  const request = `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: application/json\r\n\r\n`;
  return {
    get: () =>
      new Promise((resolve) => {
        waiting = resolve;
        sock.write(request);
      }),
    close: () => sock.destroy(),
  };
}

interface Client {
  /** One request (a GET, or a PUT of `body`), its whole answer. */
  once(): Promise<string>;
  close(): void;
}

/** Every client made, closed when the benchmark ends. */
const clients: Client[] = [];

/** A request through `c` (made for it alone), its answer read by `read`. */
function withClient(c: Client, read: (text: string) => unknown): () => Promise<unknown> {
  clients.push(c);
  return async () => read(await c.once());
}

function transportClient(port: number, body?: Buffer): Client {
  const t = new Transport(new URL(`http://127.0.0.1:${port}`), 4, {});
  return {
    once: async () => {
      const a = await t.send({
        method: body === undefined ? "GET" : "PUT",
        path: PATH,
        headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
        ...(body !== undefined ? { body } : {}),
        timeoutMs: 10_000,
      });
      return Buffer.concat(a.chunks).toString("utf8");
    },
    close: () => t.close(),
  };
}

function nodeHttpClient(port: number, body?: Buffer): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    once: () =>
      new Promise((resolve, reject) => {
        const req = http.request({
          host: "127.0.0.1",
          port,
          path: PATH,
          agent,
          method: body === undefined ? "GET" : "PUT",
          headers:
            body === undefined
              ? { accept: "application/json" }
              : { "content-type": "application/json", "content-length": body.length },
        });
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        });
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

const server = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
try {
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    server.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  const machine = machineInfo();
  console.log(describeMachine(machine));
  console.log(`one GET answered 404 by a loopback server in another process, ${N} in a row per client\n`);

  const viaTransport = await measure("agent Transport", withClient(transportClient(port), JSON.parse));
  const viaHttp = await measure("bare node:http", withClient(nodeHttpClient(port), JSON.parse));
  const raw = rawClient(port);
  const viaRaw = await measure("raw keep-alive socket", async () => JSON.parse((await raw.get()).toString("utf8")));
  raw.close();

  const all = [viaTransport, viaHttp, viaRaw];
  const row = (f: Figures): string =>
    `${f.client.padEnd(30)} CPU ${f.cpuMsPerRequest.toFixed(3)} ms per request (kernel ${f.sysMsPerRequest.toFixed(3)}), wall ${f.wallMsPerRequest.toFixed(3)} ms`;
  for (const f of all) console.log(row(f));
  const ratio = Math.round((viaTransport.cpuMsPerRequest / viaRaw.cpuMsPerRequest) * 100) / 100;
  console.log(`\nagent Transport / raw socket, CPU per request: ${ratio}x`);

  // A pool's write: its status holds 5 000 records, about 460 KB.
  const object = Buffer.from(JSON.stringify({ status: { allocatedIPs: "x".repeat(460_000) } }));
  const bigN = Math.round(N / 10);
  console.log(
    `\nPUT of ${Math.round(object.length / 1000)} KB answered with the object in chunks, ${bigN} in a row per client\n`,
  );
  const wholeAnswer = (text: string): void => {
    if (text.length !== object.length) throw new Error("answer cut short");
  };
  const putTransport = await measure("agent Transport", withClient(transportClient(port, object), wholeAnswer), bigN);
  const putHttp = await measure("bare node:http", withClient(nodeHttpClient(port, object), wholeAnswer), bigN);
  for (const f of [putTransport, putHttp]) console.log(row(f));
  const putRatio = Math.round((putTransport.cpuMsPerRequest / putHttp.cpuMsPerRequest) * 100) / 100;
  console.log(`\nagent Transport / node:http, CPU per half-megabyte PUT: ${putRatio}x`);
  if (values.json !== undefined)
    writeFileSync(
      values.json,
      `${JSON.stringify({ scenario: "http-request", machine, machineAfter: machineInfo().loadAverage, n: N, clients: all, ratioTransportToRaw: ratio, bigPut: { bytes: object.length, n: bigN, clients: [putTransport, putHttp], ratioTransportToNodeHttp: putRatio } }, null, 2)}\n`,
    );
} finally {
  for (const c of clients) c.close();
  server.kill();
}
