// The install step against a temporary directory standing in for the host's /opt/cni/bin.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { CNI_NAMES, InstallCniError, installCniBinaries } from "./install-cni.ts";

describe("installCniBinaries (issue 21)", () => {
  let dir: string;
  let host: string;
  let shim: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "install-cni-"));
    host = join(dir, "opt-cni-bin");
    shim = join(dir, "spiderpool-shim");
    writeFileSync(shim, "#!/bin/sh\necho new\n");
    mkdirSync(host);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("issue 21: installs the shim under its three names, executable, and leaves no temporary file", () => {
    const r = installCniBinaries(shim, host);
    assert.deepEqual(
      r.map((x) => x.action),
      ["installed", "installed", "installed"],
    );
    assert.deepEqual(readdirSync(host).sort(), [...CNI_NAMES].sort());
    for (const n of CNI_NAMES) {
      assert.equal(readFileSync(join(host, n), "utf8"), "#!/bin/sh\necho new\n");
      assert.equal(statSync(join(host, n)).mode & 0o777, 0o755);
    }
  });

  it("issue 21: replaces an old binary by rename: a process running the old one keeps its file", async () => {
    writeFileSync(join(host, "spiderpool"), "#!/bin/sh\nsleep 0.3\necho old\n");
    chmodSync(join(host, "spiderpool"), 0o755);
    const oldIno = statSync(join(host, "spiderpool")).ino;
    const running = spawn(join(host, "spiderpool"), [], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    running.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => running.on("close", r));
    installCniBinaries(shim, host);
    assert.notEqual(statSync(join(host, "spiderpool")).ino, oldIno, "a new inode, not the old file rewritten");
    await exited;
    assert.equal(out, "old\n");
    assert.equal(readFileSync(join(host, "spiderpool"), "utf8"), "#!/bin/sh\necho new\n");
  });

  it("issue 21: an unchanged binary is not rewritten (agent restarts do not touch the host)", () => {
    installCniBinaries(shim, host);
    const inodes = CNI_NAMES.map((n) => statSync(join(host, n)).ino);
    assert.deepEqual(
      installCniBinaries(shim, host).map((x) => x.action),
      ["unchanged", "unchanged", "unchanged"],
    );
    assert.deepEqual(
      CNI_NAMES.map((n) => statSync(join(host, n)).ino),
      inodes,
    );
  });

  it("issue 21: a missing or empty shim and an unwritable directory are refused, the old binaries intact", () => {
    writeFileSync(join(host, "spiderpool"), "old");
    assert.throws(() => installCniBinaries(join(dir, "nope"), host), InstallCniError);
    writeFileSync(join(dir, "empty"), "");
    assert.throws(() => installCniBinaries(join(dir, "empty"), host), /is empty/);
    assert.throws(() => installCniBinaries(shim, join(dir, "no-such-dir")), InstallCniError);
    assert.equal(readFileSync(join(host, "spiderpool"), "utf8"), "old");
    assert.deepEqual(readdirSync(host), ["spiderpool"]);
  });
});
