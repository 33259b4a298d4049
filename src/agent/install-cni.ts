/**
 * The agent's install step (the chart's `install-cni` init container): the CNI shim copied
 * into the host's CNI binary directory under each name a CNI configuration may use
 * (`spiderpool`, `coordinator`, `ifacer`). Each copy is written beside its target under a
 * temporary name, fsynced, then renamed over it, and the directory fsynced: a runtime that
 * executes the plugin meanwhile runs either the old binary or the new one, never a
 * half-written file, and a crash leaves no truncated plugin behind. An unchanged binary is
 * not rewritten, so restarting agents does not touch the host.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SpiderpoolError } from "../errors/base.ts";

export class InstallCniError extends SpiderpoolError {
  readonly code = "ERR_INSTALL_CNI";
}

export const CNI_NAMES = ["spiderpool", "coordinator", "ifacer"] as const;

export interface InstallResult {
  name: string;
  action: "installed" | "unchanged";
}

function sameContent(path: string, want: Buffer): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && st.size === want.length && (st.mode & 0o777) === 0o755 && readFileSync(path).equals(want);
  } catch {
    return false;
  }
}

/** Writes `dir/name` beside itself, fsyncs and renames it over the old one (also used for Multus's files). */
export function writeAtomically(dir: string, name: string, content: Buffer, mode = 0o755): void {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w", mode);
    for (let off = 0; off < content.length;) off += writeSync(fd, content, off, content.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new InstallCniError(`installing ${target}: ${(err as Error).message}`, { cause: err });
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Copies `source` into `destDir` under each of `names`. */
export function installCniBinaries(
  source: string,
  destDir: string,
  names: readonly string[] = CNI_NAMES,
): InstallResult[] {
  let content: Buffer;
  try {
    content = readFileSync(source);
  } catch (err) {
    throw new InstallCniError(`reading the shim ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (content.length === 0) throw new InstallCniError(`the shim ${source} is empty`);
  const results: InstallResult[] = [];
  for (const name of names) {
    if (sameContent(join(destDir, name), content)) {
      results.push({ name, action: "unchanged" });
      continue;
    }
    writeAtomically(destDir, name, content);
    results.push({ name, action: "installed" });
  }
  if (results.some((r) => r.action === "installed")) fsyncDir(destDir);
  return results;
}
