// The benchmarks' container runtime: CNI plugins started by a small C process
// (bench/native/cni-runner.c) with posix_spawn, as a Go runtime starts them, instead of by
// forking this Node.js process for every call. Built on first use; where gcc is missing the
// benchmarks fall back to child_process and say so in their output and JSON.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./cluster.ts";

const SOURCE = join(ROOT, "bench", "native", "cni-runner.c");
const BINARY = join(ROOT, "bench", "native", "build", "cni-runner");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Measured by the runner around the plugin process: spawn to reaped. */
  ms: number;
}

/** The runner binary, built when missing or older than its source; undefined without gcc. */
export function runnerBinary(): string | undefined {
  try {
    if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
    mkdirSync(dirname(BINARY), { recursive: true });
    execFileSync("gcc", ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", `${BINARY}.tmp`, SOURCE], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    renameSync(`${BINARY}.tmp`, BINARY);
    return BINARY;
  } catch {
    return undefined;
  }
}

function clean(field: string, what: string): string {
  if (/[\t\n]/.test(field)) throw new Error(`cni-runner: ${what} holds a TAB or LF`);
  return field;
}

export class CniRunner {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, (r: RunResult) => void>();
  #next = 1;
  #buf: Buffer = Buffer.alloc(0);
  #exited: Error | undefined;

  private constructor(bin: string, netns?: string) {
    // In a network namespace the runner's plugins start there too, at no cost per call.
    const [cmd, args] = netns === undefined ? [bin, []] : ["nsenter", [`--net=${netns}`, "--", bin]];
    this.#child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout.on("data", (d: Buffer) => this.#onData(d));
    this.#child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
    this.#child.on("exit", (code, signal) => {
      this.#exited = new Error(`cni-runner exited (${signal ?? String(code)})`);
      for (const resolve of this.#pending.values())
        resolve({ code: -1, stdout: "", stderr: this.#exited.message, ms: 0 });
      this.#pending.clear();
    });
  }

  /** A runner, or undefined when it cannot be built here. */
  static start(netns?: string): CniRunner | undefined {
    const bin = runnerBinary();
    return bin === undefined ? undefined : new CniRunner(bin, netns);
  }

  run(plugin: string, env: Record<string, string>, stdin: string): Promise<RunResult> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited);
    const id = this.#next++;
    const fields = [
      String(id),
      clean(plugin, "plugin path"),
      clean(stdin, "stdin"),
      ...Object.entries(env).map(([k, v]) => clean(`${k}=${v}`, k)),
    ];
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin.write(`${fields.join("\t")}\n`);
    });
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      const nl = this.#buf.indexOf(10);
      if (nl < 0) return;
      const [id, code, us, outLen, errLen] = this.#buf.subarray(0, nl).toString("latin1").split(" ").map(Number);
      const end = nl + 1 + (outLen ?? 0) + (errLen ?? 0);
      if (this.#buf.length < end) return;
      const stdout = this.#buf.subarray(nl + 1, nl + 1 + (outLen ?? 0)).toString("utf8");
      const stderr = this.#buf.subarray(nl + 1 + (outLen ?? 0), end).toString("utf8");
      this.#buf = this.#buf.subarray(end);
      const resolve = this.#pending.get(id ?? 0);
      this.#pending.delete(id ?? 0);
      resolve?.({ code: code ?? -1, stdout, stderr, ms: (us ?? 0) / 1000 });
    }
  }

  async stop(): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((r) => this.#child.once("exit", () => r()));
    this.#child.stdin.end();
    await exited;
  }
}
