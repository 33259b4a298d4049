/**
 * The controller's JSON-lines audit log (issue 22), off unless SPIDERPOOL_TS_AUDIT_LOG names a
 * file: every allocation and release it sees in the pools' records and every address its GC
 * reclaims, one line each (src/ipam/audit-record.ts), for clusters whose Events expire.
 *
 * Each line goes to the file in one synchronous write(2) on an O_APPEND descriptor, so
 * nothing is queued in memory however fast pools change, and a reader never sees half a
 * line. Rotation happens between two lines: the file is renamed to FILE.1 (FILE.1 to FILE.2,
 * ..., the oldest beyond `keep` dropped) and a new one opened, so no line is lost or split
 * across files. A write that fails (disk full) is counted and logged, never thrown into the
 * pool watch or the GC.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { Counter, type Registry } from "prom-client";
import { formatAuditLine, parseAuditLine, poolChanges, type AuditRecord } from "../ipam/audit-record.ts";
import { parseAllocatedIPs, type PoolRecord } from "../ipam/pool-state.ts";

export interface AuditFileOptions {
  path: string;
  /** A file is rotated before a line would take it past this size. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  keep: number;
}

/** Appends lines to a file rotated by size; one write per line. */
export class RotatingLineFile {
  readonly #o: AuditFileOptions;
  #fd: number;
  #size: number;

  constructor(o: AuditFileOptions) {
    this.#o = o;
    this.#fd = openSync(o.path, "a", 0o640);
    this.#size = fstatSync(this.#fd).size;
  }

  append(line: string): void {
    const buf = Buffer.from(`${line}\n`);
    // A line longer than the limit still goes whole into a file of its own.
    if (this.#size > 0 && this.#size + buf.length > this.#o.maxBytes) this.#rotate();
    let off = 0;
    while (off < buf.length) off += writeSync(this.#fd, buf, off);
    this.#size += buf.length;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #rotate(): void {
    closeSync(this.#fd);
    const { path, keep } = this.#o;
    // FILE.keep is overwritten by FILE.(keep-1): the oldest goes.
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    if (keep >= 1) renameSync(path, `${path}.1`);
    this.#fd = openSync(path, keep >= 1 ? "a" : "w", 0o640);
    this.#size = 0;
  }
}

/** The files of an audit log, oldest first: FILE.N ... FILE.1, FILE. */
export function auditFiles(path: string, keep = 100): string[] {
  const out: string[] = [];
  for (let i = keep; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  if (existsSync(path)) out.push(path);
  return out;
}

/** Every record of an audit log and its rotated files, oldest first; lines that are not records are counted. */
export function readAuditLog(path: string): { records: AuditRecord[]; unreadable: number } {
  const records: AuditRecord[] = [];
  let unreadable = 0;
  for (const f of auditFiles(path)) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (line === "") continue;
      const r = parseAuditLine(line);
      if (r === undefined) unreadable++;
      else records.push(r);
    }
  }
  return { records, unreadable };
}

interface PoolLike {
  metadata: { name?: string };
  status?: { allocatedIPs?: string };
}

/**
 * Feeds the log from the pool informer and the GC. The pools seen at start are the baseline,
 * not allocations (what changed while no controller watched is not known). A reclaim is
 * written by the GC with its rule; the pool update that follows is then not written again
 * as a release (a bounded set of recent reclaims).
 */
export class PoolAudit {
  readonly #file: RotatingLineFile;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #lines: Counter;
  readonly #reclaimed = new Set<string>();
  static readonly RECLAIMS_REMEMBERED = 4096;

  constructor(file: RotatingLineFile, now: () => number, registry: Registry, onError: (err: unknown) => void) {
    this.#file = file;
    this.#now = now;
    this.#onError = onError;
    this.#lines = new Counter({
      name: "spiderpool_ts_audit_lines_total",
      help: "Lines of the controller's audit log, written or failed",
      labelNames: ["result"],
      registers: [registry],
    });
  }

  poolUpdated(before: PoolLike, after: PoolLike): void {
    const pool = after.metadata.name ?? "";
    const changes = poolChanges(
      pool,
      records(before.status?.allocatedIPs),
      records(after.status?.allocatedIPs),
      new Date(this.#now()).toISOString(),
    );
    for (const c of changes) {
      if (c.action === "release" && this.#reclaimed.delete(`${c.pool}|${c.address}|${c.uid}`)) continue;
      this.#write(c);
    }
  }

  reclaimed(podRef: string, podUid: string, pool: string, ips: readonly string[], rule: string): void {
    const time = new Date(this.#now()).toISOString();
    for (const address of ips) {
      this.#remember(`${pool}|${address}|${podUid}`);
      this.#write({ time, pool, address, pod: podRef, uid: podUid, nic: "", action: "reclaim", rule });
    }
  }

  close(): void {
    this.#file.close();
  }

  #remember(key: string): void {
    this.#reclaimed.add(key);
    // A reclaim whose pool update never came (the write lost a conflict) must not pin memory.
    if (this.#reclaimed.size > PoolAudit.RECLAIMS_REMEMBERED) {
      const oldest = this.#reclaimed.values().next().value;
      if (oldest !== undefined) this.#reclaimed.delete(oldest);
    }
  }

  #write(r: AuditRecord): void {
    try {
      this.#file.append(formatAuditLine(r));
      this.#lines.inc({ result: "written" });
    } catch (err) {
      this.#lines.inc({ result: "failed" });
      this.#onError(err);
    }
  }
}

function records(text: string | undefined): Map<string, PoolRecord> {
  try {
    return parseAllocatedIPs(text);
  } catch {
    // An unreadable version is no baseline; 'spiderpoolctl check' reports the pool.
    return new Map();
  }
}
