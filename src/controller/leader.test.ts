import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { KubeClient } from "../kube/client.ts";
import { ApiError } from "../kube/errors.ts";
import { LeaderElector } from "./leader.ts";

/** An in-memory Lease with resourceVersion preconditions; one caller's requests can be made to hang. */
class FakeLeases {
  obj: Record<string, unknown> | undefined;
  rv = 0;
  readonly hang = new Set<string>();

  client(who: string): KubeClient {
    const gate = async (): Promise<void> => {
      if (this.hang.has(who)) await new Promise(() => {});
    };
    const err = (status: number, reason: string) =>
      new ApiError({ status, reason: reason as never, message: reason, method: "X", path: "/lease" } as never);
    return {
      get: async () => {
        await gate();
        if (this.obj === undefined) throw err(404, "NotFound");
        return structuredClone(this.obj);
      },
      create: async (_rt: unknown, o: Record<string, unknown>) => {
        await gate();
        if (this.obj !== undefined) throw err(409, "AlreadyExists");
        this.obj = { ...o, metadata: { ...(o["metadata"] as object), resourceVersion: String(++this.rv) } };
        return structuredClone(this.obj);
      },
      update: async (_rt: unknown, o: Record<string, unknown>) => {
        await gate();
        const rv = (o["metadata"] as { resourceVersion?: string }).resourceVersion;
        if (rv !== String(this.rv)) throw err(409, "Conflict");
        this.obj = { ...o, metadata: { ...(o["metadata"] as object), resourceVersion: String(++this.rv) } };
        return structuredClone(this.obj);
      },
    } as unknown as KubeClient;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("leader election", () => {
  it("a leader whose API requests hang steps down before anyone else can take over", async () => {
    const leases = new FakeLeases();
    const mk = (id: string) =>
      new LeaderElector({
        client: leases.client(id),
        namespace: "kube-system",
        name: "l",
        identity: id,
        leaseDurationMs: 1000,
        renewDeadlineMs: 600,
        retryPeriodMs: 50,
        onStarted: () => {},
        onStopped: () => {},
        log: pino({ level: "silent" }),
      });
    const a = mk("a");
    a.start();
    for (let i = 0; i < 40 && !a.isLeader; i++) await sleep(25);
    assert.ok(a.isLeader);
    const b = mk("b");
    b.start();
    leases.hang.add("a");
    const overlaps: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 3000) {
      if (a.isLeader && b.isLeader) overlaps.push(Math.round(performance.now() - t0));
      if (b.isLeader && !a.isLeader) break;
      await sleep(10);
    }
    assert.deepEqual(overlaps, [], "never two leaders");
    assert.ok(b.isLeader, "b took over");
    leases.hang.delete("a");
    await Promise.all([a.stop(), b.stop()]);
  });
});
