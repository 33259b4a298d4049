// `spiderpoolctl apiserver` as a separate process: ready line, kubeconfig, CRDs, shutdown.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient, loadKubeconfig, Resources } from "../../src/kube/index.ts";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "spiderpoolctl");

describe("spiderpoolctl apiserver", () => {
  it("writes a kubeconfig, prints the URL once ready, serves the CRDs, stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ctl-"));
    const kc = join(dir, "kubeconfig");
    const child = spawn(BIN, ["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out", kc, "--tls"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        const t = setTimeout(() => reject(new Error(`not ready in 20 s: ${stderr}`)), 20_000);
        child.stdout.on("data", (c: Buffer) => {
          stdout += c.toString();
          const m = /^ready (\S+)$/m.exec(stdout);
          if (m?.[1] !== undefined) {
            clearTimeout(t);
            resolveUrl(m[1]);
          }
        });
      });
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const cfg = loadKubeconfig(kc);
      assert.equal(cfg.server, url);
      const client = new KubeClient(cfg);
      try {
        const crds = await client.list(Resources.customresourcedefinitions);
        assert.equal(crds.items.length, 7);
      } finally {
        await client.close();
      }
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(stdout, /stopped/);
      assert.ok(readFileSync(kc, "utf8").includes("certificate-authority-data"));
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--auth: HTTPS, the kubeconfig's admin token has full rights, a request without it is 401 (issue 20)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ctl-"));
    const kc = join(dir, "kubeconfig");
    const child = spawn(
      BIN,
      ["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out", kc, "--auth", "--skip-crds"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        const t = setTimeout(() => reject(new Error("not ready in 20 s")), 20_000);
        child.stdout.on("data", (c: Buffer) => {
          stdout += c.toString();
          const m = /^ready (\S+)$/m.exec(stdout);
          if (m?.[1] !== undefined) {
            clearTimeout(t);
            resolveUrl(m[1]);
          }
        });
      });
      assert.match(url, /^https:/, "--auth implies --tls");
      const cfg = loadKubeconfig(kc);
      const admin = new KubeClient(cfg);
      const anonymous = new KubeClient({ ...cfg, token: "" });
      try {
        assert.ok((await admin.list(Resources.secrets, { namespace: "default" })).items.length >= 0);
        await assert.rejects(anonymous.list(Resources.secrets, { namespace: "default" }), /401 Unauthorized/);
      } finally {
        await admin.close();
        await anonymous.close();
      }
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bad options exit 2 with the usage", async () => {
    const child = spawn(BIN, ["apiserver", "--listen", "nonsense"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    assert.equal(code, 2);
    assert.match(stderr, /--listen 'nonsense': expected HOST:PORT/);
    assert.match(stderr, /usage: spiderpoolctl apiserver/);
  });

  it("refuses to listen beyond loopback", async () => {
    const child = spawn(BIN, ["apiserver", "--listen", "0.0.0.0:0"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    assert.equal(code, 2);
    assert.match(stderr, /listens on loopback only/);
  });
});
