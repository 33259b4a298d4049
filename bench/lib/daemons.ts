// The processes a benchmark starts (API server, controller, agents): started as a
// deployment would start them, watched for readiness on their log, measured through /proc,
// and killed whatever way the benchmark ends.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";

const children = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // The exit handler runs synchronously, so the kill goes out on an error, Ctrl-C or a
  // harness timeout alike.
  process.on("exit", () => {
    for (const c of children) c.kill("SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Everything it printed so far. */
  out(): string;
  stop(): Promise<void>;
}

export function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<Daemon> {
  hookExit();
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  const take = (c: Buffer): void => {
    out += c.toString();
    // Logs of a long run are only looked at for readiness and for the ports line; keep the
    // head (ports, readiness) and the tail (the last errors) of what a chatty daemon says.
    if (out.length > 4_000_000) out = `${out.slice(0, 200_000)}\n[...]\n${out.slice(-1_000_000)}`;
  };
  // SPIDERPOOL_BENCH_LOG_DIR keeps every line too, one file per daemon, for a run whose
  // logs are worth reading afterwards (a losing streak of one agent in a storm of 100).
  const logDir = process.env["SPIDERPOOL_BENCH_LOG_DIR"];
  const file = logDir !== undefined && logDir !== "" ? createWriteStream(join(logDir, `${name}.log`)) : undefined;
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  if (file !== undefined) {
    child.stdout.on("data", (c: Buffer) => file.write(c));
    child.stderr.on("data", (c: Buffer) => file.write(c));
    child.on("exit", () => file.end());
  }
  let exited = false;
  const exitedP = new Promise<void>((r) =>
    child.on("exit", () => {
      exited = true;
      children.delete(child);
      r();
    }),
  );
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`${name} not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const poll = setInterval(() => {
      if (!ready.test(out)) return;
      clearTimeout(t);
      clearInterval(poll);
      ok({
        name,
        pid: child.pid ?? -1,
        out: () => out,
        stop: async () => {
          if (!exited) child.kill("SIGTERM");
          const killed = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exitedP;
          clearTimeout(killed);
        },
      });
    }, 20);
    child.on("exit", (code) => {
      clearTimeout(t);
      clearInterval(poll);
      fail(new Error(`${name} exited with ${code}:\n${out}`));
    });
  });
}

/** The first JSON log line of a daemon whose `msg` is `msg`. */
export function logLine(d: Daemon, msg: string): Record<string, unknown> | undefined {
  for (const line of d.out().split("\n")) {
    if (!line.startsWith("{") || !line.includes(msg)) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o["msg"] === msg) return o;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

export interface ProcUsage {
  rssMB: number;
  /**
   * RssAnon: the process's own memory. RSS also counts the pages of the node binary it has
   * touched (some 50 MB), which every Node process on a host shares.
   */
  privateMB: number;
  cpuSeconds: number;
  /** Of cpuSeconds, the part spent in the kernel (system calls, page faults). */
  sysSeconds: number;
}

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every architecture Node runs on.
const CLOCK_TICKS = 100;

export function procUsage(pid: number): ProcUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces; fields are counted from after its closing ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    const sysSeconds = Number(f[12]) / CLOCK_TICKS;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const mb = (field: string): number =>
      Math.round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 102.4) / 10;
    return { rssMB: mb("VmRSS"), privateMB: mb("RssAnon"), cpuSeconds, sysSeconds };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes while a phase runs, keeping the peak of each. */
export class RssSampler {
  readonly #peak = new Map<string, number>();
  readonly #peakPrivate = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  readonly daemons: readonly Daemon[];

  constructor(daemons: readonly Daemon[], intervalMs = 100) {
    this.daemons = daemons;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    for (const d of this.daemons) {
      const u = procUsage(d.pid);
      if (u === undefined) continue;
      this.#peak.set(d.name, Math.max(this.#peak.get(d.name) ?? 0, u.rssMB));
      this.#peakPrivate.set(d.name, Math.max(this.#peakPrivate.get(d.name) ?? 0, u.privateMB));
    }
  }

  stop(): Map<string, number> {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peak;
  }

  /** Peak RssAnon of each process (read after stop). */
  get privatePeaks(): Map<string, number> {
    return this.#peakPrivate;
  }
}

/** Sums a Prometheus counter (all label sets, or those matching `where`) from a scrape. */
export function counterSum(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels = m[2] ?? "";
    if (Object.entries(where).some(([k, v]) => !labels.includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

export async function scrape(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}
