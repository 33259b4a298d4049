import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Type } from "typebox";
import { Compile } from "typebox/compile";
import { parse } from "yaml";
import { crdFileName, openAPIV3Schema, toCrd } from "./crd.ts";
import { findDrift, renderCrd } from "./crd-yaml.ts";
import { IPPoolSpec, SpiderIPPoolKind } from "./ippool.ts";
import type { KindDefinition } from "./kind.ts";
import { ALL_KINDS, SPIDER_KINDS } from "./kinds.ts";
import { lintStructural } from "./structural.ts";

interface JsonLike {
  properties?: Record<string, JsonLike>;
  enum?: unknown[];
  default?: unknown;
}

const CRD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "deploy", "crds");

function readCrdDir(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(CRD_DIR)) if (f.endsWith(".yaml")) files.set(f, readFileSync(join(CRD_DIR, f), "utf8"));
  return files;
}

// The spec's §1.0 overview and printer-column tables, written out independently of src/api.
const SPEC_TABLE: ReadonlyArray<{
  kind: string;
  plural: string;
  singular: string;
  short: string;
  scope: string;
  status: boolean;
  columns: Array<[string, string, string, number?]>;
}> = [
  {
    kind: "SpiderIPPool",
    plural: "spiderippools",
    singular: "spiderippool",
    short: "sp",
    scope: "Cluster",
    status: true,
    columns: [
      ["VERSION", "string", ".spec.ipVersion"],
      ["SUBNET", "string", ".spec.subnet"],
      ["ALLOCATED-IP-COUNT", "integer", ".status.allocatedIPCount"],
      ["TOTAL-IP-COUNT", "integer", ".status.totalIPCount"],
      ["DEFAULT", "boolean", ".spec.default"],
      ["DISABLE", "boolean", ".spec.disable", 10],
      ["NodeName", "string", ".spec.nodeName", 10],
      ["MultusName", "string", ".spec.multusName", 10],
      ["APP-NAMESPACE", "string", ".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']", 10],
    ],
  },
  {
    kind: "SpiderSubnet",
    plural: "spidersubnets",
    singular: "spidersubnet",
    short: "ss",
    scope: "Cluster",
    status: true,
    columns: [
      ["VERSION", "string", ".spec.ipVersion"],
      ["SUBNET", "string", ".spec.subnet"],
      ["ALLOCATED-IP-COUNT", "integer", ".status.allocatedIPCount"],
      ["TOTAL-IP-COUNT", "integer", ".status.totalIPCount"],
    ],
  },
  {
    kind: "SpiderReservedIP",
    plural: "spiderreservedips",
    singular: "spiderreservedip",
    short: "sr",
    scope: "Cluster",
    status: false,
    columns: [["VERSION", "string", ".spec.ipVersion"]],
  },
  {
    kind: "SpiderEndpoint",
    plural: "spiderendpoints",
    singular: "spiderendpoint",
    short: "se",
    scope: "Namespaced",
    status: false,
    columns: [
      ["INTERFACE", "string", ".status.current.ips[0].interface"],
      ["IPV4POOL", "string", ".status.current.ips[0].ipv4Pool"],
      ["IPV4", "string", ".status.current.ips[0].ipv4"],
      ["IPV6POOL", "string", ".status.current.ips[0].ipv6Pool"],
      ["IPV6", "string", ".status.current.ips[0].ipv6"],
      ["NODE", "string", ".status.current.node"],
    ],
  },
  {
    kind: "SpiderMultusConfig",
    plural: "spidermultusconfigs",
    singular: "spidermultusconfig",
    short: "smc",
    scope: "Namespaced",
    status: false,
    columns: [],
  },
  {
    kind: "SpiderCoordinator",
    plural: "spidercoordinators",
    singular: "spidercoordinator",
    short: "scc",
    scope: "Cluster",
    status: true,
    columns: [],
  },
];

describe("CRDs match the spec's §1 tables", () => {
  it("there are exactly the six kinds of the spec", () => {
    assert.deepEqual(
      SPIDER_KINDS.map((k) => k.kind),
      SPEC_TABLE.map((r) => r.kind),
    );
  });
  for (const row of SPEC_TABLE) {
    it(`${row.kind}: names, scope, short name, category, status, printer columns`, () => {
      const files = readCrdDir();
      const def = SPIDER_KINDS.find((k) => k.kind === row.kind) as KindDefinition;
      // Read the checked-in file, not the code: this is what users apply.
      const crd = parse(files.get(crdFileName(def)) ?? "") as ReturnType<typeof toCrd>;
      assert.equal(crd.metadata.name, `${row.plural}.spiderpool.spidernet.io`);
      assert.equal(crd.spec.group, "spiderpool.spidernet.io");
      assert.equal(crd.spec.scope, row.scope);
      assert.deepEqual(crd.spec.names, {
        kind: row.kind,
        listKind: `${row.kind}List`,
        plural: row.plural,
        singular: row.singular,
        shortNames: [row.short],
        categories: ["spiderpool"],
      });
      assert.equal(crd.spec.versions.length, 1);
      const v = crd.spec.versions[0];
      assert.ok(v);
      assert.equal(v.name, "v2beta1");
      assert.equal(v.served, true);
      assert.equal(v.storage, true);
      assert.deepEqual(v.subresources, row.status ? { status: {} } : undefined);
      const cols = (v.additionalPrinterColumns ?? []).map((c) => {
        const t: [string, string, string, number?] = [String(c["name"]), String(c["type"]), String(c["jsonPath"])];
        if (c["priority"] !== undefined) t.push(Number(c["priority"]));
        return t;
      });
      assert.deepEqual(cols, row.columns);
    });
  }
  it("NetworkAttachmentDefinition ships as k8s.cni.cncf.io/v1", () => {
    const crd = parse(readCrdDir().get("k8s.cni.cncf.io_network-attachment-definitions.yaml") ?? "") as ReturnType<
      typeof toCrd
    >;
    assert.equal(crd.metadata.name, "network-attachment-definitions.k8s.cni.cncf.io");
    assert.equal(crd.spec.scope, "Namespaced");
    assert.deepEqual(crd.spec.names.shortNames, ["net-attach-def"]);
    assert.equal(crd.spec.versions[0]?.name, "v1");
  });
});

describe("deploy/crds drift", () => {
  it("checked-in files equal what the schemas generate (run `npm run gen:crds` to fix)", () => {
    assert.deepEqual(findDrift(ALL_KINDS, readCrdDir()), []);
  });
  it("a changed schema, a missing file and a stale file are all reported", () => {
    const files = readCrdDir();
    const changed: KindDefinition = {
      ...SpiderIPPoolKind,
      schema: Type.Object({ spec: Type.Object({ surprise: Type.String() }) }),
    };
    assert.deepEqual(findDrift([changed], new Map([[crdFileName(changed), files.get(crdFileName(changed)) ?? ""]])), [
      { file: "spiderpool.spidernet.io_spiderippools.yaml", reason: "differs" },
    ]);
    assert.deepEqual(findDrift([SpiderIPPoolKind], new Map()), [
      { file: "spiderpool.spidernet.io_spiderippools.yaml", reason: "missing" },
    ]);
    const extra = new Map([
      [crdFileName(SpiderIPPoolKind), renderCrd(SpiderIPPoolKind)],
      ["old.yaml", "x"],
    ]);
    assert.deepEqual(findDrift([SpiderIPPoolKind], extra), [{ file: "old.yaml", reason: "unexpected" }]);
  });
});

describe("schemas", () => {
  for (const def of ALL_KINDS) {
    it(`${def.kind} is structural`, () => {
      assert.deepEqual(lintStructural(openAPIV3Schema(def)), []);
    });
  }
  it("ipVersion is an int64 enum of 4 and 6, with defaults kept", () => {
    const spec = (openAPIV3Schema(SpiderIPPoolKind)["properties"] as Record<string, Record<string, unknown>>)["spec"];
    const props = spec?.["properties"] as Record<string, Record<string, unknown>>;
    assert.deepEqual(props["ipVersion"], {
      description: "IP family; derived from subnet when unset",
      enum: [4, 6],
      format: "int64",
      type: "integer",
    });
    assert.equal(props["default"]?.["default"], false);
    assert.deepEqual(spec?.["required"], ["subnet"]);
  });
  it("SpiderMultusConfig cniType has the spec's eight values, vlan included, default custom", () => {
    const crd = parse(readCrdDir().get("spiderpool.spidernet.io_spidermultusconfigs.yaml") ?? "") as ReturnType<
      typeof toCrd
    >;
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema as { properties: Record<string, JsonLike> };
    const cniType = root.properties["spec"]?.properties?.["cniType"];
    assert.deepEqual(cniType?.enum, ["macvlan", "ipvlan", "vlan", "sriov", "ovs", "ib-sriov", "ipoib", "custom"]);
    assert.equal(cniType?.default, "custom");
  });
  it("the TypeBox validator honours required, enums and bounds", () => {
    const check = Compile(IPPoolSpec);
    assert.equal(check.Check({ subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.10-192.0.2.20"] }), true);
    assert.equal(check.Check({ subnet: "192.0.2.0/24", ipVersion: 5 }), false);
    assert.equal(check.Check({ ipVersion: 4 }), false);
  });
});
