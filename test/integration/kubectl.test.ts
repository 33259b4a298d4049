// A real client against the embedded API server: the kubectl on this machine (Debian's
// kubernetes-client when the test command had to install it). Skipped, and counted as not
// run, when no kubectl is installed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { EmbeddedApiServer } from "../../src/apiserver/index.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// SPIDERPOOL_KUBECTL picks another kubectl (e.g. Debian's 1.20 unpacked somewhere) to check compatibility.
const KUBECTL = [process.env["SPIDERPOOL_KUBECTL"], "/usr/bin/kubectl", "/usr/local/bin/kubectl"].find(
  (p) => p !== undefined && p !== "" && existsSync(p),
);
const skip = KUBECTL === undefined ? "kubectl is not installed (package kubernetes-client)" : false;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("kubectl against the embedded API server", { skip }, () => {
  let server: EmbeddedApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    server = new EmbeddedApiServer({ bookmarkIntervalMs: 200 });
    await server.listen();
    dir = mkdtempSync(join(tmpdir(), "kubectl-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfig());
    const v = await kubectl(["version", "--client", "-o", "json"]);
    const minor = Number(/"minor":\s*"(\d+)/.exec(v.stdout)?.[1] ?? "0");
    legacy = minor < 27;
    if (legacy) process.stdout.write(`# kubectl 1.${minor}: client-side validation needs --validate=false here\n`);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (args: string[], timeoutMs = 20_000): Promise<Run> =>
    new Promise((resolveRun) => {
      execFile(
        KUBECTL as string,
        args,
        { env: { PATH: process.env["PATH"] ?? "", HOME: dir, KUBECONFIG: kubeconfig }, timeout: timeoutMs },
        (err, stdout, stderr) => {
          const code =
            err === null
              ? 0
              : typeof (err as { code?: unknown }).code === "number"
                ? (err as { code: number }).code
                : 1;
          resolveRun({ code, stdout, stderr });
        },
      );
    });
  // kubectl before 1.27 validates on the client from the protobuf OpenAPI v2 document, which this
  // server does not serve (docs/apiserver.md); such a kubectl needs --validate=false.
  let legacy = false;
  const apply = (args: string[]): string[] => (legacy ? [...args, "--validate=false"] : args);
  const ok = async (args: string[]): Promise<string> => {
    const r = await kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed:\n${r.stderr}`);
    return r.stdout;
  };
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const POOL = `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: v4-pool
  finalizers: ["spiderpool.spidernet.io"]
spec:
  subnet: 192.0.2.0/24
  ipVersion: 4
  ips: ["192.0.2.10-192.0.2.100"]
  default: true
  nodeName: ["node1"]
`;

  it("applies deploy/crds/ and lists them", async () => {
    const out = await ok(apply(["apply", "-f", join(ROOT, "deploy", "crds")]));
    assert.equal(
      out
        .trim()
        .split("\n")
        .filter((l) => l.endsWith(" created")).length,
      7,
      out,
    );
    const crds = await ok(["get", "crds", "-o", "name"]);
    assert.match(crds, /customresourcedefinition.apiextensions.k8s.io\/spiderippools.spiderpool.spidernet.io/);
    await ok(["wait", "--for=condition=Established", "crd/spiderippools.spiderpool.spidernet.io", "--timeout=10s"]);
  });

  it("kubectl get spiderippools shows the spec's printer columns", async () => {
    await ok(apply(["apply", "-f", file("pool.yaml", POOL)]));
    const lines = (await ok(["get", "spiderippools"])).trim().split("\n");
    assert.deepEqual(lines[0]?.split(/\s+/), [
      "NAME",
      "VERSION",
      "SUBNET",
      "ALLOCATED-IP-COUNT",
      "TOTAL-IP-COUNT",
      "DEFAULT",
    ]);
    assert.deepEqual(lines[1]?.split(/\s+/), ["v4-pool", "4", "192.0.2.0/24", "true"]);
    const wide = (await ok(["get", "sp", "-o", "wide"])).trim().split("\n");
    assert.deepEqual(wide[0]?.split(/\s+/), [
      "NAME",
      "VERSION",
      "SUBNET",
      "ALLOCATED-IP-COUNT",
      "TOTAL-IP-COUNT",
      "DEFAULT",
      "DISABLE",
      "NODENAME",
      "MULTUSNAME",
      "APP-NAMESPACE",
    ]);
    assert.match(await ok(["get", "spiderpool"]), /spiderippool.spiderpool.spidernet.io\/v4-pool/);
  });

  it("describe, label, merge and JSON patch, and re-apply", async () => {
    const d = await ok(["describe", "sp", "v4-pool"]);
    assert.match(d, /Subnet:\s+192\.0\.2\.0\/24/);
    assert.match(d, /Finalizers:\s+spiderpool\.spidernet\.io/);
    await ok(["label", "sp", "v4-pool", "env=test"]);
    await ok(["patch", "sp", "v4-pool", "--type=merge", "-p", '{"spec":{"gateway":"192.0.2.1"}}']);
    await ok(["patch", "sp", "v4-pool", "--type=json", "-p", '[{"op":"replace","path":"/spec/disable","value":true}]']);
    const got = await ok([
      "get",
      "sp",
      "v4-pool",
      "-o",
      "jsonpath={.metadata.labels.env} {.spec.gateway} {.spec.disable}",
    ]);
    assert.equal(got, "test 192.0.2.1 true");
    assert.match(await ok(apply(["apply", "-f", join(dir, "pool.yaml")])), /configured|unchanged/);
  });

  it("server-side validation errors reach the user", async () => {
    const bad = await kubectl(
      apply([
        "apply",
        "-f",
        file("bad.yaml", POOL.replace("ipVersion: 4", "ipVersion: 5").replace("v4-pool", "bad-pool")),
      ]),
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unsupported value: 5: supported values: "4", "6"/);
    if (legacy) return; // without server-side field validation an unknown field is pruned, not refused
    const unknown = await kubectl([
      "apply",
      "-f",
      file(
        "unknown.yaml",
        POOL.replace("default: true", "default: true\n  bogus: 1").replace("v4-pool", "unknown-pool"),
      ),
    ]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec.bogus"/);
  });

  it("watch prints events as they happen", async () => {
    const watching = kubectl(["get", "sp", "--watch", "--output-watch-events", "--request-timeout=3s"], 10_000);
    await new Promise((r) => setTimeout(r, 800));
    await ok(
      apply([
        "apply",
        "-f",
        file(
          "watched.yaml",
          POOL.replace("v4-pool", "watched").replace('finalizers: ["spiderpool.spidernet.io"]', "labels: {w: x}"),
        ),
      ]),
    );
    await ok(["delete", "sp", "watched"]);
    const r = await watching;
    assert.match(r.stdout, /ADDED\s+watched/);
    assert.match(r.stdout, /DELETED\s+watched/);
  });

  it("delete with a finalizer leaves the object terminating until the finalizer is removed", async () => {
    await ok(["delete", "sp", "v4-pool", "--wait=false"]);
    assert.match(await ok(["get", "sp", "v4-pool", "-o", "jsonpath={.metadata.deletionTimestamp}"]), /Z$/);
    await ok(["patch", "sp", "v4-pool", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    const gone = await kubectl(["get", "sp", "v4-pool"]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it("built-in kinds through apply, and --raw", async () => {
    await ok(apply(["apply", "-f", file("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n")]));
    await ok(
      apply([
        "apply",
        "-f",
        file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: apps\ndata:\n  a: b\n"),
      ]),
    );
    assert.equal(await ok(["get", "cm", "c", "-n", "apps", "-o", "jsonpath={.data.a}"]), "b");
    await ok(["delete", "ns", "apps"]);
    assert.match(await ok(["get", "--raw", "/version"]), /spiderpool-embedded/);
  });
});
