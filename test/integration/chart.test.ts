// The Helm chart (issue 21): `helm lint` and `helm template` with the default values, with every
// documented boolean switch flipped (each alone must change what is rendered, and all at
// once must still lint), and with each webhook certificate method; golden files of the
// rendered output, generated certificates masked (UPDATE_GOLDEN=1 rewrites them); the
// generated README and the CRD copies checked against their sources; the rendered webhook
// configurations against the ones the controller registers. A missing helm that
// scripts/helm.sh cannot fetch fails these tests with its reason.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  ALWAYS_REGISTERED,
  COORDINATOR_REGISTERED,
  MULTUS_CONFIG_REGISTERED,
  podRegistered,
  webhookConfigurations,
  type RegisteredResource,
} from "../../src/controller/webhooks/registration.ts";
import { CHART_DIR, chartParams, expectedCrds, renderChartReadme } from "../../scripts/chart-docs.ts";
import { CHART, ensureHelm, NAMESPACE, objects, ROOT, template } from "../support/chart.ts";

const GOLDEN = join(ROOT, "test", "integration", "golden", "chart");

/** Values a switch needs beside it to mean anything (a pool needs its subnet, a ServiceMonitor its metrics). */
const COMPANIONS: Record<string, string[]> = {
  "clusterDefaultPool.installIPv4IPPool": [
    "clusterDefaultPool.ipv4Subnet=192.0.2.0/24",
    "clusterDefaultPool.ipv4IPRanges={192.0.2.10-192.0.2.200}",
    "clusterDefaultPool.ipv4Gateway=192.0.2.1",
  ],
  "clusterDefaultPool.installIPv6IPPool": [
    "clusterDefaultPool.ipv6Subnet=2001:db8::/64",
    "clusterDefaultPool.ipv6IPRanges={2001:db8::10-2001:db8::200}",
    "clusterDefaultPool.ipv6Gateway=2001:db8::1",
  ],
  "spiderpoolAgent.prometheus.serviceMonitor.install": ["spiderpoolAgent.prometheus.enabled=true"],
  "spiderpoolController.prometheus.serviceMonitor.install": ["spiderpoolController.prometheus.enabled=true"],
};

const PEM = (label: string): string => `-----BEGIN ${label}-----\nMIIBfixture\n-----END ${label}-----\n`;

/** The non-boolean cases: certificate methods, and the value sets docs/install.md shows. */
const CASES: Record<string, string[]> = {
  default: [],
  "tls-provided": [
    "--set=spiderpoolController.tls.method=provided",
    `--set-string=spiderpoolController.tls.provided.tlsCert=${PEM("CERTIFICATE")}`,
    `--set-string=spiderpoolController.tls.provided.tlsKey=${PEM("PRIVATE KEY")}`,
    `--set-string=spiderpoolController.tls.provided.tlsCa=${PEM("CERTIFICATE")}`,
  ],
  "tls-certmanager": ["--set=spiderpoolController.tls.method=certmanager"],
  "replicas-3": [
    "--set=spiderpoolController.replicas=3",
    "--set=spiderpoolController.podDisruptionBudget.enabled=true",
  ],
};

function switches(): Array<{ path: string; value: boolean }> {
  const text = readFileSync(join(CHART_DIR, "values.yaml"), "utf8");
  return chartParams(text)
    .filter((p) => typeof p.value === "boolean")
    .map((p) => ({ path: p.path, value: p.value as boolean }));
}

function flipArgs(s: { path: string; value: boolean }): string[] {
  return [`--set=${s.path}=${String(!s.value)}`, ...(COMPANIONS[s.path] ?? []).map((c) => `--set=${c}`)];
}

/** Generated certificates differ on every run; everything else is deterministic. */
function mask(rendered: string): string {
  return rendered.replace(/^(\s*(?:ca\.crt|ca\.key|tls\.crt|tls\.key|caBundle):) \S+$/gm, "$1 <masked>");
}

function lint(args: string[]): void {
  execFileSync(ensureHelm(), ["lint", CHART, "--strict", "--namespace", NAMESPACE, ...args], { encoding: "utf8" });
}

function golden(name: string, rendered: string): void {
  const file = join(GOLDEN, `${name}.yaml`);
  const text = mask(rendered);
  if (process.env["UPDATE_GOLDEN"] === "1") {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  let want: string;
  try {
    want = readFileSync(file, "utf8");
  } catch {
    assert.fail(`${file} is missing: run UPDATE_GOLDEN=1 node --test test/integration/chart.test.ts and review it`);
  }
  assert.equal(text, want, `${name}: the rendered chart differs from ${file} (UPDATE_GOLDEN=1 rewrites it)`);
}

describe("Helm chart charts/spiderpool (issue 21)", () => {
  it("issue 21: helm is available (fetched by scripts/helm.sh when missing)", () => {
    const v = execFileSync(ensureHelm(), ["version", "--short"], { encoding: "utf8" });
    assert.match(v, /^v3\./);
  });

  for (const [name, args] of Object.entries(CASES)) {
    it(`issue 21: lint and template: ${name}, matching its golden file`, () => {
      lint(args);
      golden(name, template(args));
    });
  }

  it("issue 21: all documented switches flipped at once: lints, renders, matches its golden file", () => {
    const args = switches().flatMap(flipArgs);
    lint(args);
    golden("all-switches-flipped", template(args));
  });

  it("issue 21: each documented switch, flipped alone, changes what is rendered", () => {
    // With fixed certificates: generating a key per render would make this the slowest test.
    const fixed = CASES["tls-provided"]!;
    const base = template(fixed);
    const inert: string[] = [];
    for (const s of switches()) {
      const out = template([...fixed, ...flipArgs(s)]);
      if (out === base) inert.push(s.path);
    }
    assert.deepEqual(inert, [], "switches documented in values.yaml that render nothing different");
  });

  it("issue 21: an unknown tls.method and provided without its certificates are refused at render time", () => {
    assert.throws(
      () => template(["--set=spiderpoolController.tls.method=self"]),
      /must be auto, provided or certmanager/,
    );
    assert.throws(() => template(["--set=spiderpoolController.tls.method=provided"]), /needs tls.provided.tlsCert/);
  });

  it("issue 21: the auto certificate is a CA-signed serving certificate, and both webhook configurations carry that CA", () => {
    const objs = objects(template()) as Array<Record<string, unknown>>;
    const secret = objs.find((o) => o["kind"] === "Secret") as { data: Record<string, string> };
    const ca = Buffer.from(secret.data["ca.crt"]!, "base64").toString();
    assert.match(ca, /BEGIN CERTIFICATE/);
    for (const o of objs.filter((x) => String(x["kind"]).endsWith("WebhookConfiguration"))) {
      for (const w of o["webhooks"] as Array<{ clientConfig: { caBundle: string } }>) {
        assert.equal(
          w.clientConfig.caBundle,
          secret.data["ca.crt"],
          `${String(o["kind"])}: caBundle is the Secret's CA`,
        );
      }
    }
  });

  const registered: [string, string[], RegisteredResource[]][] = [
    ["default values", [], []],
    [
      "podResourceInject enabled, with included namespaces",
      [
        "--set=spiderpoolController.podResourceInject.enabled=true",
        "--set=spiderpoolController.podResourceInject.namespacesInclude={app,db}",
      ],
      [podRegistered(["kube-system", "spiderpool", "metallb-system", "istio-system"], ["app", "db"])],
    ],
    [
      "podResourceInject enabled, no exclusions",
      [
        "--set=spiderpoolController.podResourceInject.enabled=true",
        "--set=spiderpoolController.podResourceInject.namespacesExclude=null",
      ],
      [podRegistered([], [])],
    ],
  ];
  for (const [what, args, extra] of registered)
    it(`issue 21: the rendered webhooks are those the controller registers (Service, paths, rules): ${what}`, () => {
      const objs = objects(template(args)) as Array<Record<string, unknown>>;
      const want = webhookConfigurations(
        { service: { namespace: NAMESPACE, name: "spiderpool-controller", port: 5722 }, caPem: "" },
        [...ALWAYS_REGISTERED, MULTUS_CONFIG_REGISTERED, COORDINATOR_REGISTERED, ...extra],
      );
      const strip = (hooks: unknown): unknown =>
        (hooks as Array<{ clientConfig: Record<string, unknown> }>).map((h) => ({
          ...h,
          clientConfig: { ...h.clientConfig, caBundle: "<masked>" },
        }));
      for (const [kind, obj] of [
        ["MutatingWebhookConfiguration", want.mutating],
        ["ValidatingWebhookConfiguration", want.validating],
      ] as const) {
        const got = objs.find((o) => o["kind"] === kind);
        assert.ok(got, kind);
        assert.equal((got["metadata"] as { name: string }).name, obj.metadata?.name);
        const byName = (l: unknown): unknown =>
          [...(l as Array<{ name: string }>)].sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(byName(strip(got["webhooks"])), byName(strip(obj["webhooks"])), kind);
      }
    });

  it("issue 21: the chart's README is generated from values.yaml and its CRDs are deploy/crds (node scripts/gen-chart.ts)", async () => {
    const text = readFileSync(join(CHART_DIR, "values.yaml"), "utf8");
    assert.equal(
      readFileSync(join(CHART_DIR, "README.md"), "utf8"),
      await renderChartReadme(text),
      "charts/spiderpool/README.md is stale: run node scripts/gen-chart.ts",
    );
    const crds = expectedCrds();
    const have = readdirSync(join(CHART_DIR, "crds")).sort();
    assert.deepEqual(have, [...crds.keys()], "charts/spiderpool/crds/ holds other files than deploy/crds/");
    for (const [f, t] of crds) {
      assert.equal(
        readFileSync(join(CHART_DIR, "crds", f), "utf8"),
        t,
        `crds/${f} is stale: run node scripts/gen-chart.ts`,
      );
    }
  });

  it("issue 21: conf.yml in spiderpool-conf parses and both daemons accept it", async () => {
    const { readConfFile } = await import("../../src/agent/config.ts");
    const { loadControllerConfig } = await import("../../src/controller/config.ts");
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    for (const args of [[], switches().flatMap(flipArgs)]) {
      const cm = objects(template(args)).find(
        (o) => o.kind === "ConfigMap" && o.metadata?.name === "spiderpool-conf",
      ) as { data: Record<string, string> } | undefined;
      assert.ok(cm, "ConfigMap spiderpool-conf");
      assert.equal(typeof parse(cm.data["conf.yml"]!), "object");
      const dir = mkdtempSync(join(tmpdir(), "chart-conf-"));
      try {
        const file = join(dir, "conf.yml");
        writeFileSync(file, cm.data["conf.yml"]!);
        readConfFile(file);
        loadControllerConfig({ SPIDERPOOL_POD_NAMESPACE: NAMESPACE, SPIDERPOOL_POD_NAME: "c" }, file);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
