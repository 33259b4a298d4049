// Issue 20: the sandbox with authentication and RBAC on. Its agents and controller hold
// ServiceAccount tokens (renewed before they expire) under deploy/rbac.yaml's roles; a request
// without a valid token is refused, the /_embedded/ knobs are the admin's, and the kubeconfig
// it writes is the admin's.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { applyManifests, readManifests } from "../../src/cli/sandbox/manifests.ts";
import { refreshDelayMs, ServiceAccountTokens } from "../../src/cli/sandbox/service-account-tokens.ts";
import { ApiError, KubeClient, loadKubeconfig, Resources } from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RBAC = join(ROOT, "deploy", "rbac.yaml");

/** The HTTP status a request fails with (0: it succeeded). */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe("SB-25 ServiceAccount tokens for the sandbox's components", () => {
  let h: Harness;
  let dir: string;
  const clients: KubeClient[] = [];
  before(async () => {
    h = await startApiServer({ auth: true });
    await applyManifests(h.client, readManifests([RBAC]));
    dir = mkdtempSync(join(tmpdir(), "sandbox-auth-"));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("SB-25 renewed at 80% of their lifetime, as the kubelet renews projected tokens", () => {
    assert.equal(refreshDelayMs(3600), 2_880_000);
    assert.equal(refreshDelayMs(600), 480_000);
  });

  it("SB-25 the token file is renewed and the client re-reads it; the account keeps only its role", async () => {
    const tokens = new ServiceAccountTokens({
      admin: h.client,
      cluster: { server: h.url, ca: h.server.caPem ?? "" },
      dir,
      renewAfterMs: 200,
    });
    try {
      const cfg = await tokens.configFor({ namespace: "kube-system", name: "spiderpool-agent" });
      assert.equal(cfg.token, undefined, "no fixed token: the file is re-read");
      const first = readFileSync(cfg.tokenFile as string, "utf8");
      await eventually(() => readFileSync(cfg.tokenFile as string, "utf8") !== first, 5000, "a renewed token");
      const agent = new KubeClient(cfg);
      clients.push(agent);
      await agent.list(Resources.pods);
      assert.equal(await statusOf(agent.delete(Resources.nodes, "node1")), 403, "not in the agent's role");
      assert.equal(await statusOf(agent.request("POST", "/_embedded/faults/clear")), 403, "knobs are the admin's");
    } finally {
      tokens.stop();
    }
  });
});

describe("SB-26 the sandbox runs with authentication and RBAC on", () => {
  const prefix = `spt-s2-${randomBytes(2).toString("hex")}`;
  let dir: string;
  let child: ChildProcess;
  let output = "";
  const clients: KubeClient[] = [];
  const client = (over: { token?: string }): KubeClient => {
    const { token: _admin, ...cluster } = loadKubeconfig(join(dir, "kc"));
    const c = new KubeClient({ ...cluster, ...over });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sandbox-auth-"));
    child = spawn(
      join(ROOT, "bin", "spiderpoolctl"),
      ["sandbox", "--mode", "ipam", "--nodes", "1", "--pods", "2", "--kubeconfig-out", join(dir, "kc")],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SPIDERPOOL_SANDBOX_NETNS_PREFIX: prefix } },
    );
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    await eventually(() => output.includes("running; Ctrl-C") || child.exitCode !== null, 90_000, "the sandbox up");
    assert.equal(child.exitCode, null, output);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("SB-26 its components were refused nothing, and it says who they run as", () => {
    assert.match(
      output,
      /authentication and RBAC on; agents and controller run as ServiceAccounts kube-system\/spiderpool-\{agent,controller\}/,
    );
    assert.match(output, /^RBAC: no request of the agents or the controller refused$/m);
    assert.match(output, /consistency check: ok/);
  });

  it("SB-26 no token, a wrong token: 401; health stays open", async () => {
    assert.equal(await statusOf(client({}).list(Resources.pods)), 401);
    assert.equal(await statusOf(client({ token: "not-a-token" }).list(Resources.pods)), 401);
    assert.equal(await statusOf(client({}).request("GET", "/healthz")), 0);
  });

  it("SB-26 the kubeconfig is the admin's; the /_embedded/ knobs are refused to a ServiceAccount", async () => {
    const admin = new KubeClient(loadKubeconfig(join(dir, "kc")));
    clients.push(admin);
    assert.ok((await admin.list(Resources.pods, { namespace: "sandbox" })).items.length >= 2);
    const r = await admin.request<{ status: { token: string } }>(
      "POST",
      "/api/v1/namespaces/kube-system/serviceaccounts/spiderpool-controller/token",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
    );
    const controller = client({ token: r.status.token });
    assert.equal(await statusOf(controller.list(Resources.pods)), 0, "within its role");
    assert.equal(await statusOf(controller.request("POST", "/_embedded/faults/clear")), 403);
    assert.equal(await statusOf(controller.list(Resources.secrets)), 403, "secrets only in its namespace");
    assert.equal(await statusOf(admin.request("POST", "/_embedded/faults/clear")), 0, "the admin's");
  });
});
