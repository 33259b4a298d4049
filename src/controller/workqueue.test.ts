import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkQueue } from "./workqueue.ts";

describe("WorkQueue", () => {
  it("works a key queued twice once; nothing while not leading", async () => {
    let leader = false;
    const worked: string[] = [];
    const q = new WorkQueue({
      work: async (k) => void worked.push(k),
      retryDelay: () => undefined,
      isLeader: () => leader,
    });
    q.add("a");
    q.add("a");
    q.add("b");
    await q.idle();
    assert.deepEqual(worked, []);
    assert.equal(q.depth, 2);
    leader = true;
    q.kick();
    await q.idle();
    assert.deepEqual(worked, ["a", "b"]);
  });

  it("retries a failing key with its count until retryDelay drops it", async () => {
    const counts: number[] = [];
    let tries = 0;
    let dropped!: () => void;
    const done = new Promise<void>((r) => (dropped = r));
    const q = new WorkQueue({
      work: async () => {
        tries++;
        throw new Error("no");
      },
      retryDelay: (_err, n) => {
        counts.push(n);
        if (n > 3) {
          dropped();
          return undefined;
        }
        return 1;
      },
      isLeader: () => true,
    });
    q.add("k");
    await done;
    await q.idle();
    assert.deepEqual(counts, [1, 2, 3, 4]);
    assert.equal(tries, 4);
    q.stop();
  });
});
