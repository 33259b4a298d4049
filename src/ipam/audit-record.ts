/**
 * The controller's audit log (issue 22): one JSON line per allocation, release or GC
 * reclaim, for clusters whose Events expire before anyone asks. Pure: the diff of a pool's
 * records that yields the lines, the line format, and how a line joins the Events'
 * timeline in `spiderpoolctl history`. The file and its rotation are the controller's.
 */
import {
  addressesIn,
  allocatedMessage,
  REASON_ALLOCATED,
  REASON_RECLAIMED,
  REASON_RELEASED,
  reclaimedMessage,
  type HistoryEvent,
} from "./history.ts";
import { parseKey, type PoolRecord } from "./pool-state.ts";

export type AuditAction = "allocate" | "release" | "reclaim";

export interface AuditRecord {
  /** ISO 8601, when the controller saw the change (a pool records no time of its own). */
  time: string;
  pool: string;
  address: string;
  /** `namespace/name`. */
  pod: string;
  uid: string;
  /** Empty when the change was seen in a pool, which does not record the NIC. */
  nic: string;
  action: AuditAction;
  /** The GC rule that fired, for a reclaim; empty otherwise. */
  rule: string;
}

/** The records that differ between two versions of a pool's allocatedIPs, releases first. */
export function poolChanges(
  pool: string,
  before: ReadonlyMap<string, PoolRecord>,
  after: ReadonlyMap<string, PoolRecord>,
  time: string,
): AuditRecord[] {
  const out: AuditRecord[] = [];
  const line = (address: string, r: PoolRecord, action: AuditAction): AuditRecord => ({
    time,
    pool,
    address,
    pod: r.pod,
    uid: r.podUid,
    nic: "",
    action,
    rule: "",
  });
  // An address handed from one pod to another within one update is a release and an allocation.
  for (const [address, r] of before) {
    const now = after.get(address);
    if (now === undefined || now.podUid !== r.podUid) out.push(line(address, r, "release"));
  }
  for (const [address, r] of after) {
    const was = before.get(address);
    if (was === undefined || was.podUid !== r.podUid) out.push(line(address, r, "allocate"));
  }
  return out;
}

export function formatAuditLine(r: AuditRecord): string {
  return JSON.stringify({
    time: r.time,
    pool: r.pool,
    address: r.address,
    pod: r.pod,
    uid: r.uid,
    nic: r.nic,
    action: r.action,
    rule: r.rule,
  });
}

const ACTIONS: ReadonlySet<string> = new Set(["allocate", "release", "reclaim"]);

/** A line back into a record; undefined for a line that is not one (a torn line after a crash). */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const s = (k: string): string | undefined => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const [time, pool, address, pod, uid, nic, action, rule] = [
    "time",
    "pool",
    "address",
    "pod",
    "uid",
    "nic",
    "action",
    "rule",
  ].map(s);
  if (time === undefined || pool === undefined || address === undefined || pod === undefined) return undefined;
  if (uid === undefined || action === undefined || !ACTIONS.has(action)) return undefined;
  return { time, pool, address, pod, uid, nic: nic ?? "", action: action as AuditAction, rule: rule ?? "" };
}

/** A record as the Event it stands in for, in the texts the Events use (so the timeline reads it alike). */
export function auditAsEvent(r: AuditRecord): HistoryEvent {
  const held = { nic: r.nic === "" ? "-" : r.nic, address: r.address, pool: r.pool };
  const [reason, message] =
    r.action === "allocate"
      ? [REASON_ALLOCATED, allocatedMessage([held])]
      : r.action === "reclaim"
        ? [REASON_RECLAIMED, reclaimedMessage(r.pool, [r.address], r.rule)]
        : // Unlike the agent's release Event, the line names the address: keep it in the text.
          [REASON_RELEASED, `${allocatedMessage([held])}; released`];
  return { time: r.time, reason, message, pod: r.pod, podUid: r.uid, count: 1 };
}

/**
 * Events and audit lines in one list: a line the Events already tell (same reason, pod UID
 * and address; for a release, same pod UID) is left out, so a change recorded both ways
 * shows once, with the Event's NIC and time. A release line that echoes a reclaim line is
 * left out too.
 */
export function mergeAudit(events: readonly HistoryEvent[], audit: readonly AuditRecord[]): HistoryEvent[] {
  const told = new Set<string>();
  for (const e of events) {
    if (e.reason === REASON_RELEASED) told.add(`${e.reason}|${e.podUid}|`);
    for (const a of addressesIn(e.message)) told.add(`${e.reason}|${e.podUid}|${bareAddress(a.address)}`);
  }
  // The GC's reclaim line and the pool update that echoes it may land in either order: the
  // reclaim tells it (with its rule), the release line is the echo.
  const reclaimed = new Set(
    audit.filter((r) => r.action === "reclaim").map((r) => `${r.pool}|${bareAddress(r.address)}|${r.uid}`),
  );
  const out = [...events];
  for (const r of audit) {
    if (r.action === "release" && reclaimed.has(`${r.pool}|${bareAddress(r.address)}|${r.uid}`)) continue;
    const e = auditAsEvent(r);
    const address = bareAddress(r.address);
    if (told.has(`${e.reason}|${e.podUid}|${address}`)) continue;
    if (e.reason === REASON_RELEASED && told.has(`${e.reason}|${e.podUid}|`)) continue;
    out.push(e);
  }
  return out;
}

/** The address without its prefix length, in the pools' spelling (IPv6 compressed alike). */
function bareAddress(a: string): string {
  const ip = a.includes("/") ? a.slice(0, a.indexOf("/")) : a;
  return parseKey(ip)?.key ?? ip;
}
