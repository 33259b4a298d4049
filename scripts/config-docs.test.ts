// docs/configuration.md against the code it is generated from (issue 21): a variable or a
// conf.yml key added, removed or given another default shows up here as drift.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./chart-docs.ts";
import { chartOnlyVars, confKeys, envVars, expandPrefixes, renderConfigurationDoc } from "./config-docs.ts";

describe("docs/configuration.md (issue 21)", () => {
  it("issue 21: is what scripts/gen-config-docs.ts generates from the code", async () => {
    assert.equal(
      readFileSync(join(ROOT, "docs", "configuration.md"), "utf8"),
      await renderConfigurationDoc(),
      "docs/configuration.md is stale: run node scripts/gen-config-docs.ts",
    );
  });

  it("issue 21: names built from a prefix constant, also per value of a loop, are spelled out", () => {
    const src = [
      'const C = "SPIDERPOOL_X_";',
      'const a = e.str(`${C}MODE`, "auto");',
      "for (const family of [4, 6] as const) {",
      "  const P = `SPIDERPOOL_IPV${family}_`;",
      "  opt(`${P}NAME`);",
      "}",
    ].join("\n");
    const { texts, prefixes } = expandPrefixes(src);
    assert.deepEqual([...prefixes], ["SPIDERPOOL_X_"]);
    assert.equal(texts.length, 2);
    assert.ok(texts.every((t) => t.includes('e.str("SPIDERPOOL_X_MODE", "auto")')));
    assert.ok(texts[0]!.includes('opt("SPIDERPOOL_IPV4_NAME")') && texts[1]!.includes('opt("SPIDERPOOL_IPV6_NAME")'));
    const vars = new Map(envVars().map((v) => [v.name, v]));
    assert.equal(vars.get("SPIDERPOOL_INIT_DEFAULT_COORDINATOR_MODE")?.default, '`"auto"`');
    assert.equal(vars.get("SPIDERPOOL_INIT_DEFAULT_COORDINATOR_HIJACK_CIDR")?.default, '`["169.254.0.0/16"]`');
    assert.ok(vars.has("SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_SUBNET"));
    assert.ok(!vars.has("SPIDERPOOL_INIT_DEFAULT_COORDINATOR_"), "a prefix is no variable");
  });

  it("issue 21: the scan finds the variables, their defaults per daemon and the chart values that set them", () => {
    const vars = new Map(envVars().map((v) => [v.name, v]));
    assert.deepEqual(vars.get("SPIDERPOOL_GC_IP_ENABLED"), {
      name: "SPIDERPOOL_GC_IP_ENABLED",
      readers: ["controller"],
      default: "`true`",
      chartValue: "`ipam.gc.enabled`",
    });
    assert.equal(vars.get("SPIDERPOOL_HEALTH_PORT")?.default, "agent: `5710`; controller: `5720`");
    assert.equal(vars.get("SPIDERPOOL_TS_GC_INTERVAL_MS")?.default, "(unset)");
    assert.equal(vars.get("SPIDERPOOL_NODE_NAME")?.chartValue, "downward API `spec.nodeName`");
    const keys = new Map(confKeys().map((k) => [k.key, k]));
    assert.deepEqual(keys.get("enableCleanOutdatedEndpoint"), {
      key: "enableCleanOutdatedEndpoint",
      readers: ["controller"],
      default: "false",
    });
    assert.equal(keys.get("ipamUnixSocketPath")?.default, "/var/run/spidernet/spiderpool.sock");
    assert.equal(keys.get("clusterSubnetAutoPoolDefaultRedundantIPNumber")?.default, "1");
  });

  it("issue 21: every conf.yml key the daemons read is one the chart writes, and the chart writes no other", () => {
    const cm = readFileSync(join(ROOT, "charts", "spiderpool", "templates", "configmap.yaml"), "utf8");
    const written = [...cm.matchAll(/^ {4}(\w+): /gm)].map((m) => m[1]!).sort();
    assert.deepEqual(
      written,
      confKeys()
        .map((k) => k.key)
        .sort(),
    );
  });

  it("issue 21: the chart sets no SPIDERPOOL_* variable outside the daemons' and spiderpool-init's upstream names", () => {
    for (const n of chartOnlyVars(envVars())) {
      assert.match(
        n,
        /^SPIDERPOOL_(INIT_|NAMESPACE$|CONTROLLER_NAME$|AGENT_NAME$|COORDINATOR_DEAFULT_NAME$|CNI_CONFIG_DIR$|CILIUM_CONFIGMAP_NAMESPACE_NAME$)/,
      );
    }
  });
});
