import assert from "node:assert/strict";
import { test } from "node:test";
import { Store, type Obj, type StoredEvent, type StoreWatcher } from "./store.ts";

function watchers(store: Store, n: number, order: string[]): StoreWatcher[] {
  const ws: StoreWatcher[] = [];
  for (let i = 0; i < n; i++) {
    const w: StoreWatcher = { resource: "pools", deliver: (ev: StoredEvent) => order.push(`w${i}@${ev.rv}`) };
    store.addWatcher(w);
    ws.push(w);
  }
  return ws;
}

const pool = (name: string): Obj => ({ metadata: { name, uid: `uid-${name}` } });

test("each event's fan-out starts at the watcher the random draw picks and wraps around", () => {
  const draws = [0, 0.5, 0.99];
  const store = new Store(100, () => draws.shift() ?? 0);
  const order: string[] = [];
  watchers(store, 4, order);
  store.commit("pools", "ADDED", pool("a"));
  store.commit("pools", "MODIFIED", pool("a"));
  store.commit("pools", "MODIFIED", pool("a"));
  assert.deepEqual(order, [
    ...["w0@1", "w1@1", "w2@1", "w3@1"],
    ...["w2@2", "w3@2", "w0@2", "w1@2"],
    ...["w3@3", "w0@3", "w1@3", "w2@3"],
  ]);
});

test("with the default randomness every watcher is first for some events, and each gets every event once", () => {
  const store = new Store(1000);
  const order: string[] = [];
  watchers(store, 5, order);
  const events = 400;
  for (let i = 0; i < events; i++) store.commit("pools", i === 0 ? "ADDED" : "MODIFIED", pool("a"));
  const firsts = new Set<string>();
  for (let i = 0; i < events; i++) firsts.add((order[i * 5] as string).split("@")[0] as string);
  // (4/5)^400 per watcher: a watcher never first would mean a fixed order.
  assert.equal(firsts.size, 5);
  for (let w = 0; w < 5; w++) assert.equal(order.filter((o) => o.startsWith(`w${w}@`)).length, events);
});

test("a removed watcher gets no more events; the others get them in order", () => {
  const store = new Store(100, () => 0);
  const order: string[] = [];
  const ws = watchers(store, 3, order);
  store.removeWatcher(ws[1] as StoreWatcher);
  store.commit("pools", "ADDED", pool("a"));
  assert.deepEqual(order, ["w0@1", "w2@1"]);
});
