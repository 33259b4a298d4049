// Issue 21: `kubectl apply --dry-run=server` of every object the chart renders, CRDs included,
// against the embedded API server (which serves the RBAC, apps, batch, policy and
// admissionregistration kinds with their schemas): for the default values and for each value
// set docs/install.md shows and each certificate method. The third-party kinds some switches
// render (cert-manager's, the Prometheus operator's) need their CRDs, as on a real cluster:
// stand-ins are created first. Skipped, with the reason, when kubectl is not installed.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EmbeddedApiServer } from "../../src/apiserver/index.ts";
import { KubeClient, Resources, type KubeObject } from "../../src/kube/index.ts";
import { NAMESPACE, objects, ROOT, template } from "../support/chart.ts";
import { KUBECTL, runKubectl } from "../support/kubectl.ts";

const noKubectl = KUBECTL === undefined ? "kubectl is not installed (package kubernetes-client)" : false;
const PEM = (label: string): string => `-----BEGIN ${label}-----\nMIIBfixture\n-----END ${label}-----\n`;

/** The `--set` arguments of each `helm install` docs/install.md shows. */
function documentedValueSets(): string[][] {
  const doc = readFileSync(join(ROOT, "docs", "install.md"), "utf8");
  return [...doc.matchAll(/^\s*helm install spiderpool charts\/spiderpool (.*)$/gm)].map((m) =>
    [...m[1]!.matchAll(/--set (\S+)/g)].map((s) => `--set=${s[1]}`),
  );
}

const CASES: Array<[string, string[]]> = [
  ["default values", []],
  ...documentedValueSets().map((args, i): [string, string[]] => [`docs/install.md value set ${i + 1}`, args]),
  [
    "tls.method=provided",
    [
      "--set=spiderpoolController.tls.method=provided",
      `--set-string=spiderpoolController.tls.provided.tlsCert=${PEM("CERTIFICATE")}`,
      `--set-string=spiderpoolController.tls.provided.tlsKey=${PEM("PRIVATE KEY")}`,
      `--set-string=spiderpoolController.tls.provided.tlsCa=${PEM("CERTIFICATE")}`,
    ],
  ],
];

/** Cluster-scoped kinds of other projects the switches render, as their operators install them. */
const THIRD_PARTY: Array<[group: string, kind: string, plural: string, version: string]> = [
  ["cert-manager.io", "Certificate", "certificates", "v1"],
  ["cert-manager.io", "Issuer", "issuers", "v1"],
  ["monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "v1"],
  ["monitoring.coreos.com", "PrometheusRule", "prometheusrules", "v1"],
];

describe("issue 21: the chart's objects, server-side dry-run against the embedded API server", () => {
  let server: EmbeddedApiServer;
  let client: KubeClient;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    server = new EmbeddedApiServer();
    client = new KubeClient({ server: await server.listen() });
    dir = mkdtempSync(join(tmpdir(), "chart-dryrun-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfig());
    for (const [group, kind, plural, version] of THIRD_PARTY) {
      await client.create(Resources.customresourcedefinitions, {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: "Namespaced",
          names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          ],
        },
      } as KubeObject);
    }
  });
  after(async () => {
    await client?.close();
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("issue 21: docs/install.md shows the three value sets this test renders", () => {
    assert.equal(documentedValueSets().length, 3);
  });

  for (const [name, args] of CASES) {
    it(
      `issue 21: kubectl apply --dry-run=server accepts every rendered object (${name})`,
      { skip: noKubectl },
      async () => {
        const rendered = template(["--include-crds", ...args]);
        const file = join(dir, "rendered.yaml");
        writeFileSync(file, rendered);
        const want = objects(rendered).map((o) => `${o.kind}/${o.metadata?.name}`);
        const r = await runKubectl(dir, kubeconfig, ["apply", "--dry-run=server", "-n", NAMESPACE, "-f", file], 60_000);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assert.equal(lines.length, want.length, `one line per object:\n${r.stdout}`);
        assert.ok(
          lines.every((l) => l.endsWith("created (server dry run)")),
          r.stdout,
        );
        // A dry run stores nothing: the next case starts from the same empty cluster.
        const crds = await client.list(Resources.customresourcedefinitions);
        assert.equal(crds.items.length, THIRD_PARTY.length, "only the stand-in CRDs exist");
      },
    );
  }
});
