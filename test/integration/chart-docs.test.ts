// docs/install.md followed as far as this machine allows (issue 21): every `helm install` and
// `helm upgrade` it shows is linted and rendered with exactly its arguments, the objects its
// kubectl commands name are objects the chart renders, and the CRDs it deletes are the
// chart's.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CHART, ensureHelm, NAMESPACE, objects, ROOT, template } from "../support/chart.ts";

const DOC = readFileSync(join(ROOT, "docs", "install.md"), "utf8");
const shellLines = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n").map((l) => l.trim()));

/** `--set a=b` pairs of a documented command, as helm template takes them. */
function helmArgs(line: string): string[] {
  const words = line.split(/\s+/).slice(4); // helm install|upgrade spiderpool charts/spiderpool
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--namespace") {
      assert.equal(words[++i], NAMESPACE);
    } else if (w === "--reuse-values") {
      continue;
    } else if (w === "--set") {
      out.push(`--set=${words[++i]!}`);
    } else {
      assert.fail(`docs/install.md: an argument the test does not know: ${w}`);
    }
  }
  return out;
}

describe("docs/install.md (issue 21)", () => {
  const helmCommands = shellLines.filter((l) => /^helm (install|upgrade) spiderpool charts\/spiderpool /.test(l));

  it("issue 21: shows the three value sets, an upgrade and an uninstall", () => {
    assert.equal(helmCommands.filter((l) => l.startsWith("helm install")).length, 3);
    assert.equal(helmCommands.filter((l) => l.startsWith("helm upgrade")).length, 1);
    assert.ok(shellLines.includes(`helm uninstall spiderpool --namespace ${NAMESPACE}`));
  });

  for (const line of helmCommands) {
    it(`issue 21: lints and renders: ${line.slice(0, 90)}…`, () => {
      const args = helmArgs(line);
      execFileSync(ensureHelm(), ["lint", CHART, "--strict", "--namespace", NAMESPACE, ...args], { encoding: "utf8" });
      const objs = objects(template(args));
      assert.ok(objs.some((o) => o.kind === "DaemonSet"));
      const registry = args.find((a) => a.startsWith("--set=global.imageRegistryOverride="))?.split("=")[2];
      if (registry !== undefined) {
        const images = template(args).match(/image: \S+/g) ?? [];
        assert.ok(images.length > 0 && images.every((i) => i.includes(registry)), `every image from ${registry}`);
      }
    });
  }

  it("issue 21: the objects its kubectl commands name are the chart's", () => {
    const rendered = objects(template()).map((o) => `${String(o.kind).toLowerCase()}/${o.metadata?.name}`);
    // In the commands and in the troubleshooting table alike.
    const named = [...DOC.matchAll(/\b(daemonset|deployment|job)\/([\w-]+)/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.ok(named.length >= 3);
    for (const n of named) assert.ok(rendered.includes(n), `${n} is rendered by the chart`);
    const webhooks = shellLines.find((l) => l.startsWith("kubectl get mutatingwebhookconfigurations"))!;
    const name = webhooks.split(/\s+/).at(-1)!;
    assert.ok(rendered.includes(`mutatingwebhookconfiguration/${name}`));
    assert.ok(rendered.includes(`validatingwebhookconfiguration/${name}`));
  });

  it("issue 21: the CRDs it deletes are the chart's own (the NetworkAttachmentDefinition one stays for Multus)", () => {
    const line = shellLines.find((l) => l.startsWith("kubectl delete crd "))!;
    const deleted = line.split(/\s+/).slice(3).sort();
    const chart = readdirSync(join(CHART, "crds"))
      .map((f) => (parse(readFileSync(join(CHART, "crds", f), "utf8")) as { metadata: { name: string } }).metadata.name)
      .filter((n) => n.endsWith(".spiderpool.spidernet.io"))
      .sort();
    assert.deepEqual(deleted, chart);
  });
});
