/**
 * Picking and releasing addresses inside a pool over a planned batch (spec §1.10, §9.5): the
 * decisions a pool writer makes on a Draft of the pool's records.
 */
import { formatIP, type IPRangeSet } from "../ip/index.ts";
import { recordCapExceeded, usedOut } from "./errors.ts";
import { parseKey, rememberKey } from "./pool-state.ts";
import type { Draft } from "./record-set.ts";

export interface Pick {
  ip: string;
  /** True when the pod already held this address in the pool (an idempotent retry). */
  reused: boolean;
}

/**
 * Spec §1.10 over a planned batch: the address this pod already holds in the pool, else the
 * lowest address of `available` (the effective set minus reserved addresses) that is not
 * recorded. The record cap counts records. The draft answers "in use" and "held by this
 * pod" from indexes, so a pick costs in the batch and the run of used addresses it skips.
 */
export function pickInDraft(
  pool: string,
  available: IPRangeSet,
  draft: Draft,
  podUid: string,
  maxRecords: number,
  /**
   * Which of the pod's records in this pool is wanted: the k-th NIC of a pod drawing from
   * the same pool gets its own address (upstream hands every NIC the same one).
   */
  slot = 0,
): Pick {
  const held = slot === 0 ? draft.addressOf(podUid) : draft.addressesOf(podUid)[slot];
  if (held !== undefined) return { ip: held, reused: true };
  let from: bigint | undefined;
  if (!draft.hasRemovals) {
    // Without removals in the draft, every address below the first one the base leaves
    // free is taken: start there, and remember it for the next search of this base.
    const base = draft.base;
    const baseFree = available.lowestFree({ has: (v) => base.isUsed(v) }, base.hintFor(available));
    if (baseFree === undefined) throw usedOut();
    base.setHint(available, baseFree);
    from = baseFree;
  }
  const free = available.lowestFree({ has: (v) => draft.isUsed(v) }, from);
  if (free === undefined) throw usedOut();
  if (draft.size + 1 > maxRecords) throw recordCapExceeded(maxRecords, pool);
  // The draft records it at once (parseKey): an IPv6 address would otherwise be parsed back from the text just made.
  const ip = formatIP(available.family, free);
  rememberKey(ip, available.family, free);
  return { ip, reused: false };
}

/**
 * Drops from the draft the records of `ips` that belong to `podUid`; another pod's record of
 * an address is never touched (spec §9.5). Returns the canonical addresses released.
 */
export function releaseInDraft(draft: Draft, ips: readonly string[], podUid: string): string[] {
  const released: string[] = [];
  for (const ip of ips) {
    const text = ip.includes("/") ? ip.slice(0, ip.indexOf("/")) : ip;
    const key = parseKey(text)?.key ?? text;
    if (draft.get(key)?.podUid === podUid) {
      draft.delete(key);
      released.push(key);
    }
  }
  return released;
}
