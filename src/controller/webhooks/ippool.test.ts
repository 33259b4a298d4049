import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrLabelValue, LABEL_SUBNET_CIDR } from "../../api/annotations/index.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { SpiderSubnet } from "../../api/subnet.ts";
import { mutatePool, validatePool, type PoolWebhookConfig } from "./ippool.ts";

const cfg: PoolWebhookConfig = {
  enableIPv4: true,
  enableIPv6: true,
  enableSpiderSubnet: true,
  enableValidatingResourcesDeletedWebhook: true,
};

/** A subnet whose status holds addresses carved for an auto-pool that is not created yet. */
function subnet(controlled: Record<string, { ips: string[]; application?: string }>): SpiderSubnet {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderSubnet",
    metadata: { name: "s1", uid: "u-s1", labels: { [LABEL_SUBNET_CIDR]: cidrLabelValue("192.0.2.0/24") } },
    spec: { ipVersion: 4, subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.200"] },
    status: { controlledIPPools: JSON.stringify(controlled), allocatedIPCount: 3, totalIPCount: 191 },
  } as SpiderSubnet;
}

function pool(name: string, ips: string[]): SpiderIPPool {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { subnet: "192.0.2.0/24", ips },
  } as SpiderIPPool;
}

const pending = {
  "auto4-web-eth0-1a2b3": { ips: ["192.0.2.10-192.0.2.12"], application: "apps_v1_Deployment_default_web" },
};

describe("IPPool admission: addresses a subnet carved for another pool", () => {
  it("refuses a pool made by hand over addresses carved for an auto-pool not yet created", () => {
    const subs = [subnet(pending)];
    const p = mutatePool(pool("manual", ["192.0.2.12-192.0.2.20"]), subs, cfg);
    const v = validatePool({ operation: "CREATE", object: p, pools: [], subnets: subs }, cfg);
    assert.equal(v?.type, "Forbidden");
    assert.match(
      v?.detail ?? "",
      /overlap with IP ranges \["192\.0\.2\.12"\] that SpiderSubnet s1 holds for IPPool auto4-web-eth0-1a2b3/,
    );
    assert.equal(v?.field, "spec.ips");
  });

  it("allows one beside them, and a pool's own entry never counts against it", () => {
    const subs = [subnet({ ...pending, manual: { ips: ["192.0.2.13-192.0.2.20"] } })];
    const p = mutatePool(pool("manual", ["192.0.2.13-192.0.2.20"]), subs, cfg);
    assert.equal(validatePool({ operation: "CREATE", object: p, pools: [], subnets: subs }, cfg), undefined);
  });

  it("on update only what is added is checked: an old overlap does not block other edits", () => {
    const subs = [subnet(pending)];
    const old = mutatePool(pool("manual", ["192.0.2.12-192.0.2.20"]), subs, cfg);
    const relabelled = { ...old, metadata: { ...old.metadata, labels: { ...old.metadata.labels, team: "a" } } };
    assert.equal(
      validatePool({ operation: "UPDATE", object: relabelled, oldObject: old, pools: [old], subnets: subs }, cfg),
      undefined,
    );
    const grown = { ...old, spec: { ...old.spec, ips: ["192.0.2.11-192.0.2.20"] } };
    const v = validatePool({ operation: "UPDATE", object: grown, oldObject: old, pools: [old], subnets: subs }, cfg);
    assert.match(v?.detail ?? "", /overlap with IP ranges \["192\.0\.2\.11"\] that SpiderSubnet s1 holds/);
  });

  it("without the subnet feature the subnet's entries are not consulted", () => {
    const off = { ...cfg, enableSpiderSubnet: false };
    const subs = [subnet(pending)];
    const p = mutatePool(pool("manual", ["192.0.2.12-192.0.2.20"]), subs, off);
    assert.equal(validatePool({ operation: "CREATE", object: p, pools: [], subnets: subs }, off), undefined);
  });
});

describe("IPPool admission: pools that can never work (issue 16)", () => {
  const create = (spec: Partial<SpiderIPPool["spec"]>): ReturnType<typeof validatePool> => {
    const p = mutatePool(
      {
        ...pool("p", ["192.0.2.10-192.0.2.20"]),
        spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], ...spec },
      } as SpiderIPPool,
      [],
      cfg,
    );
    return validatePool({ operation: "CREATE", object: p, pools: [], subnets: [] }, cfg);
  };
  const refused = (spec: Partial<SpiderIPPool["spec"]>, field: string, detail: RegExp): void => {
    const v = create(spec);
    assert.equal(v?.type, "Invalid", JSON.stringify(v));
    assert.equal(v?.field, field);
    assert.match(v?.detail ?? "", detail);
  };

  it("a plain pool is still accepted, and so are valid names and selectors", () => {
    assert.equal(create({}), undefined);
    assert.equal(
      create({
        namespaceName: ["default"],
        nodeName: ["worker-1.example"],
        multusName: ["kube-system/macvlan-conf", "macvlan"],
        nodeAffinity: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] },
        gateway: "192.0.2.1",
      }),
      undefined,
    );
  });

  it("an unknown nodeAffinity operator", () => {
    refused(
      { nodeAffinity: { matchExpressions: [{ key: "zone", operator: "Near", values: ["a"] }] } },
      "spec.nodeAffinity",
      /Near/,
    );
  });

  it("names that are not valid names", () => {
    refused({ namespaceName: ["Not_A_Namespace"] }, "spec.namespaceName[0]", /namespace name/);
    refused({ nodeName: ["node 1"] }, "spec.nodeName[0]", /node name/);
    refused({ multusName: ["a/b/c"] }, "spec.multusName[0]", /Multus network name/);
  });

  it("the network and broadcast addresses of an IPv4 subnet in ips, unless excluded", () => {
    refused({ ips: ["192.0.2.0-192.0.2.20"] }, "spec.ips", /holds 192\.0\.2\.0, the network address/);
    refused({ ips: ["192.0.2.250-192.0.2.255"] }, "spec.ips", /holds 192\.0\.2\.255, the broadcast address/);
    assert.equal(create({ ips: ["192.0.2.0-192.0.2.255"], excludeIPs: ["192.0.2.0", "192.0.2.255"] }), undefined);
  });

  it("a gateway that is the network address", () => {
    refused({ gateway: "192.0.2.0" }, "spec.gateway", /network address/);
  });

  it("IPv4-mapped IPv6 subnets", () => {
    const v = validatePool(
      {
        operation: "CREATE",
        object: mutatePool(
          { ...pool("m", []), spec: { subnet: "::ffff:192.0.2.0/120", ips: ["::ffff:192.0.2.10"] } } as SpiderIPPool,
          [],
          cfg,
        ),
        pools: [],
        subnets: [],
      },
      cfg,
    );
    assert.equal(v?.field, "spec.subnet", JSON.stringify(v));
    assert.match(v?.detail ?? "", /IPv4-mapped/);
  });
});
