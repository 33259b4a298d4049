/**
 * Address history (issue 22): the texts of the Events that record an allocation, a release
 * and a GC reclaim on the pod, and the timeline `spiderpoolctl history` assembles from them
 * and from the pools' current records. One module writes and reads the texts, so the two
 * cannot drift apart.
 */
import { parseKey } from "./pool-state.ts";

export const REASON_ALLOCATED = "IPAllocated";
export const REASON_RELEASED = "IPReleased";
export const REASON_RECLAIMED = "IPReclaimed";
export const HISTORY_REASONS: ReadonlySet<string> = new Set([REASON_ALLOCATED, REASON_RELEASED, REASON_RECLAIMED]);

export interface HeldAddress {
  nic: string;
  /** With or without its prefix length. */
  address: string;
  pool: string;
}

const ITEM = /^(\S+) (\S+) from SpiderIPPool (\S+)$/;

/** `eth0 192.0.2.10/24 from SpiderIPPool web; eth0 2001:db8::10/64 from SpiderIPPool web6` */
export function allocatedMessage(ips: readonly HeldAddress[]): string {
  return ips.map((i) => `${i.nic} ${i.address} from SpiderIPPool ${i.pool}`).join("; ");
}

export function releasedMessage(containerID: string): string {
  return `the pod's addresses were released (CNI DEL of container ${containerID.slice(0, 12)})`;
}

/** `192.0.2.10 from SpiderIPPool web; reclaimed by GC: PodMissing` (the NIC is not recorded in the pool). */
export function reclaimedMessage(pool: string, ips: readonly string[], rule: string): string {
  return `${ips.map((ip) => `- ${ip} from SpiderIPPool ${pool}`).join("; ")}; reclaimed by GC: ${rule}`;
}

/** The addresses an IPAllocated or IPReclaimed message names. */
export function addressesIn(message: string): HeldAddress[] {
  const out: HeldAddress[] = [];
  for (const part of message.split("; ")) {
    const m = ITEM.exec(part);
    if (m !== null) out.push({ nic: m[1] as string, address: m[2] as string, pool: m[3] as string });
  }
  return out;
}

function bare(address: string): string {
  const a = address.includes("/") ? address.slice(0, address.indexOf("/")) : address;
  return parseKey(a)?.key ?? a;
}

export interface HistoryEvent {
  time: string;
  reason: string;
  message: string;
  pod: string;
  podUid: string;
  count: number;
}

export interface PoolHolder {
  pool: string;
  address: string;
  pod: string;
  podUid: string;
}

export type HistoryQuery =
  { kind: "address"; address: string } | { kind: "pod"; pod: string } | { kind: "pool"; pool: string };

export interface TimelineEntry {
  time: string;
  what: "allocated" | "released" | "reclaimed" | "holds now";
  pod: string;
  podUid: string;
  detail: string;
}

/** How a command-line argument names what to trace: an address, `ns/pod`, or a pool. */
export function historyQuery(arg: string, poolNames: ReadonlySet<string>): HistoryQuery {
  if (parseKey(arg) !== undefined) return { kind: "address", address: parseKey(arg)?.key as string };
  if (arg.includes("/")) return { kind: "pod", pod: arg };
  if (poolNames.has(arg)) return { kind: "pool", pool: arg };
  return { kind: "pod", pod: `default/${arg}` };
}

/**
 * The timeline of `q`, oldest first: the Events that concern it (an address's allocation and
 * the release or reclaim of the pod that held it; a pod's; a pool's), then who holds it now.
 */
export function timeline(
  q: HistoryQuery,
  events: readonly HistoryEvent[],
  holders: readonly PoolHolder[],
): TimelineEntry[] {
  // Within one millisecond, an allocation comes before the release that ends it.
  const rank = (r: string): number => (r === REASON_ALLOCATED ? 0 : 1);
  const sorted = [...events]
    .filter((e) => HISTORY_REASONS.has(e.reason))
    .sort((a, b) => a.time.localeCompare(b.time) || rank(a.reason) - rank(b.reason));
  const matches = (e: HistoryEvent): boolean => {
    const named = addressesIn(e.message);
    switch (q.kind) {
      case "pod":
        return e.pod === q.pod;
      case "pool":
        return named.some((n) => n.pool === q.pool);
      case "address":
        return named.some((n) => bare(n.address) === q.address);
    }
  };
  // A release names no address: it belongs to an address's history when the pod that
  // released had been allocated that address (a pod UID holds an address at most once).
  const out: TimelineEntry[] = [];
  const holdersOf = new Set<string>();
  for (const e of sorted) {
    const what = e.reason === REASON_ALLOCATED ? "allocated" : e.reason === REASON_RELEASED ? "released" : "reclaimed";
    let hit = matches(e);
    if (!hit && e.reason === REASON_RELEASED && q.kind !== "pod") hit = holdersOf.has(e.podUid);
    if (!hit) continue;
    if (e.reason === REASON_ALLOCATED) holdersOf.add(e.podUid);
    out.push({
      time: e.time,
      what,
      pod: e.pod,
      podUid: e.podUid,
      detail: e.count > 1 ? `${e.message} (${e.count} times)` : e.message,
    });
  }
  for (const h of holders) {
    const hit =
      (q.kind === "address" && bare(h.address) === q.address) ||
      (q.kind === "pool" && h.pool === q.pool) ||
      (q.kind === "pod" && h.pod === q.pod);
    if (hit)
      out.push({
        time: "now",
        what: "holds now",
        pod: h.pod,
        podUid: h.podUid,
        detail: `${h.address} in SpiderIPPool ${h.pool}`,
      });
  }
  return out;
}
