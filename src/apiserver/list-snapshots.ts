/**
 * Paginated lists (`limit`/`continue`). Pages after the first come from a snapshot taken
 * with the first, so a paginated list is consistent as kube-apiserver's (etcd's) is; a
 * snapshot lives 5 minutes, at most 200 are held, and an expired one answers 410 Expired.
 */
import { randomUUID } from "node:crypto";
import { badRequest, expired } from "./http-errors.ts";
import type { ListPage } from "./registry-types.ts";
import type { Obj } from "./store.ts";

const TTL_MS = 5 * 60_000;
const MAX_SNAPSHOTS = 200;

interface Snapshot {
  items: Obj[];
  rv: string;
  created: number;
}

export class ListSnapshots {
  readonly #snapshots = new Map<string, Snapshot>();

  /** One page: of `current()` (the matching items and the store's revision) or of the token's snapshot. */
  page(current: () => { items: Obj[]; rv: string }, limit: number, cont: string | null): ListPage {
    this.#prune();
    let items: Obj[];
    let rv: string;
    let offset = 0;
    let id: string | undefined;
    if (cont !== null && cont !== "") {
      let token: { id: string; offset: number };
      try {
        token = JSON.parse(Buffer.from(cont, "base64url").toString("utf8")) as { id: string; offset: number };
      } catch {
        throw badRequest(`invalid continue token`);
      }
      const snap = this.#snapshots.get(token.id);
      if (snap === undefined) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      ({ items, rv } = snap);
      offset = token.offset;
      id = token.id;
    } else {
      ({ items, rv } = current());
    }
    if (limit <= 0 || offset + limit >= items.length) {
      return { items: items.slice(offset), resourceVersion: rv };
    }
    id ??= randomUUID();
    if (!this.#snapshots.has(id)) {
      this.#prune();
      this.#snapshots.set(id, { items, rv, created: Date.now() });
    }
    const next = offset + limit;
    const token = Buffer.from(JSON.stringify({ id, offset: next }), "utf8").toString("base64url");
    return {
      items: items.slice(offset, next),
      resourceVersion: rv,
      continue: token,
      remainingItemCount: items.length - next,
    };
  }

  /** Forgets every snapshot, so continue tokens answer 410 (for tests). */
  clear(): void {
    this.#snapshots.clear();
  }

  #prune(): void {
    const cutoff = Date.now() - TTL_MS;
    for (const [id, s] of this.#snapshots) if (s.created < cutoff) this.#snapshots.delete(id);
    while (this.#snapshots.size >= MAX_SNAPSHOTS) {
      const first = this.#snapshots.keys().next().value;
      if (first === undefined) break;
      this.#snapshots.delete(first);
    }
  }
}
