/**
 * The sandbox's pool grid (issue 22): the page of `top pools --html`, served on loopback
 * while the sandbox runs and drawn afresh from the API on every visit, reloading itself, so
 * scaling a workload with kubectl shows on the grid.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SpiderIPPool } from "../api/ippool.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import { reservedAddresses } from "../ipam/pool-state.ts";
import type { KubeClient } from "../kube/client.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { gridsOf, renderGridHtml } from "./pool-grid.ts";

export const GRID_REFRESH_SECONDS = 3;

export async function gridPage(client: KubeClient, now: Date = new Date()): Promise<string> {
  const [pools, reserved] = await Promise.all([
    client.listAll<SpiderIPPool>(POOLS, { limit: 500 }),
    client.listAll<SpiderReservedIP>(resourceTypeOf(SpiderReservedIPKind), { limit: 500 }),
  ]);
  const byFamily = { 4: reservedAddresses(4, reserved.items), 6: reservedAddresses(6, reserved.items) };
  return renderGridHtml(gridsOf(pools.items, byFamily), now.toISOString(), {
    refreshSeconds: GRID_REFRESH_SECONDS,
    by: "spiderpoolctl sandbox",
  });
}

export interface GridServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the page on 127.0.0.1 (a free port unless `port` is given) and says where. */
export async function serveGrid(client: KubeClient, out: { write(s: string): unknown }, port = 0): Promise<GridServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url !== "/" && req.url !== "/pools")) {
      res.writeHead(404).end();
      return;
    }
    gridPage(client).then(
      (html) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html),
      (err: unknown) =>
        res.writeHead(503, { "content-type": "text/plain" }).end(`cannot read the pools: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  out.write(`pool grid (free, allocated, reserved, excluded; the pod on hover): ${url}\n`);
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
