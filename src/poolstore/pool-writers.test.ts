import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { PoolOp } from "./pool-writer.ts";
import { PoolWriters, type PoolWriterHandle } from "./pool-writers.ts";

function fakeWriter(name: string, made: string[]): PoolWriterHandle {
  made.push(name);
  return {
    submit: async (_op: PoolOp) => ({ ip: `${name}-ip` }),
    observe: () => {},
    held: () => undefined,
    depth: 1,
  } as unknown as PoolWriterHandle;
}

const pool = (name: string) => ({ metadata: { name } }) as SpiderIPPool;

describe("PoolWriters", () => {
  it("one writer per pool, evicted when the informer reports the pool deleted", async () => {
    const made: string[] = [];
    const ws = new PoolWriters((n) => fakeWriter(n, made));
    const handlers: { onDelete?: (p: SpiderIPPool) => void } = {};
    ws.follow({ addHandlers: (h) => Object.assign(handlers, h) });
    assert.equal(ws.get("a"), ws.get("a"));
    assert.deepEqual(await ws.submit("b", { kind: "allocate", podUid: "u", podRef: "ns/p" }), { ip: "b-ip" });
    assert.equal(ws.size, 2);
    assert.equal(ws.depth, 2);
    handlers.onDelete?.(pool("a"));
    assert.equal(ws.size, 1);
    assert.equal(ws.peek("a"), undefined);
    ws.get("a");
    assert.deepEqual(made, ["a", "b", "a"]);
    ws.close();
    assert.equal(ws.size, 0);
  });
});
