import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InitConfigError, loadInitConfig } from "./config.ts";
import { defaultCniFile, defaultCniSmc, initObjects } from "./plan.ts";

const m = {
  defaultCniName: undefined,
  cniDir: "/etc/cni/net.d",
  namespace: "kube-system",
  installMultus: false,
  multusConfigMap: undefined,
};
const file = (name: string, conf: object) => ({ name, content: JSON.stringify(conf) });

describe("spiderpool-init: the default-CNI SpiderMultusConfig (node-networking §6)", () => {
  const rows: [string, Parameters<typeof defaultCniSmc>, { name: string; type: string; crName?: string }][] = [
    [
      "defaultCniCRName set → custom of that name",
      [{ ...m, defaultCniName: "mynet" }, file("10-x.conf", { name: "x" })],
      { name: "mynet", type: "custom" },
    ],
    ["no file → default, custom", [m, undefined], { name: "default", type: "custom" }],
    [
      "calico → SMC calico renaming its NAD",
      [m, file("10-calico.conflist", { name: "k8s-pod-network", plugins: [{ type: "calico" }] })],
      { name: "calico", type: "custom", crName: "k8s-pod-network" },
    ],
    [
      "cilium → custom",
      [m, file("05-cilium.conflist", { name: "cilium", plugins: [{ type: "cilium-cni" }] })],
      { name: "cilium", type: "custom" },
    ],
    [
      "macvlan with a master kept",
      [m, file("10-m.conf", { name: "mv", type: "macvlan", master: "eth0" })],
      { name: "mv", type: "macvlan" },
    ],
    [
      "ipvlan in a conflist kept",
      [m, file("10-i.conflist", { name: "iv", plugins: [{ type: "ipvlan", master: "eth1" }] })],
      { name: "iv", type: "ipvlan" },
    ],
    [
      "macvlan without master → custom",
      [m, file("10-m.conf", { name: "mv", type: "macvlan" })],
      { name: "mv", type: "custom" },
    ],
    [
      "sriov → custom (no resourceName in a CNI file)",
      [m, file("10-s.conf", { name: "s", type: "sriov" })],
      { name: "s", type: "custom" },
    ],
    ["not JSON → default", [m, { name: "10-x.conf", content: "{" }], { name: "default", type: "custom" }],
  ];
  for (const [what, args, want] of rows)
    it(what, () => {
      const o = defaultCniSmc(...args).object;
      assert.equal(o.metadata.name, want.name);
      assert.equal(o.metadata.namespace, "kube-system");
      assert.equal(o.spec["cniType"], want.type);
      assert.equal(o.spec["enableCoordinator"], false);
      assert.equal(o.metadata.annotations?.["multus.spidernet.io/cr-name"], want.crName);
    });
});

describe("spiderpool-init: environment (node-networking §2.2)", () => {
  it("defaults of the chart: auto, hijack 169.254.0.0/16, vethMTU 1500, nothing else", () => {
    const c = loadInitConfig({ SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "default" });
    assert.deepEqual(c.coordinator, {
      name: "default",
      mode: "auto",
      podCIDRType: "auto",
      tunePodRoutes: true,
      hijackCIDR: ["169.254.0.0/16"],
      policyRoutes: [],
      vethLinkAddress: "",
      vethMTU: 1500,
    });
    assert.deepEqual(
      initObjects(c, undefined).map((o) => o.object.kind),
      ["SpiderCoordinator"],
    );
  });
  it("no coordinator name → no coordinator", () => assert.equal(loadInitConfig({}).coordinator, undefined));
  const bad: [string, Record<string, string>][] = [
    [
      "tunePodRoutes not a bool",
      { SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "d", SPIDERPOOL_INIT_DEFAULT_COORDINATOR_TUNE_POD_ROUTES: "yes" },
    ],
    ["vethMTU 0", { SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "d", SPIDERPOOL_INIT_DEFAULT_COORDINATOR_VETH_MTU: "0" }],
    [
      "hijack not JSON",
      { SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "d", SPIDERPOOL_INIT_DEFAULT_COORDINATOR_HIJACK_CIDR: "10.0.0.0/8" },
    ],
    [
      "hijack not an IP",
      { SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "d", SPIDERPOOL_INIT_DEFAULT_COORDINATOR_HIJACK_CIDR: '["x"]' },
    ],
    [
      "pool subnet of the wrong family",
      { SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_NAME: "p", SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_SUBNET: "2001:db8::/64" },
    ],
    ["pool without subnet", { SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_NAME: "p" }],
    [
      "INSTALL_MULTUS not a bool",
      { SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "true", SPIDERPOOL_INIT_INSTALL_MULTUS: "1x" },
    ],
  ];
  for (const [what, env] of bad)
    it(`refuses ${what}, naming the variable`, () =>
      assert.throws(
        () => loadInitConfig(env),
        (e: unknown) => e instanceof InitConfigError && /SPIDERPOOL_INIT_/.test(e.message),
      ));
});

describe("spiderpool-init: SPIDERPOOL_INIT_INSTALL_MULTUS and SPIDERPOOL_INIT_MULTUS_CONFIGMAP (spiderpool-api §6.4)", () => {
  it("read with the Multus settings; unset: not installed, no ConfigMap", () => {
    const on = loadInitConfig({
      SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "true",
      SPIDERPOOL_INIT_INSTALL_MULTUS: "true",
      SPIDERPOOL_INIT_MULTUS_CONFIGMAP: "spiderpool-multus",
    }).multus;
    assert.equal(on?.installMultus, true);
    assert.equal(on?.multusConfigMap, "spiderpool-multus");
    const off = loadInitConfig({ SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "true" }).multus;
    assert.equal(off?.installMultus, false);
    assert.equal(off?.multusConfigMap, undefined);
  });

  const rows: [string, string[], boolean, string | undefined][] = [
    [
      "upstream's rule: .conf and .conflist by name",
      ["20-b.conf", "10-a.conflist", "05-c.json"],
      false,
      "10-a.conflist",
    ],
    [
      "with the chart's Multus, .json too, as its sidecar",
      ["20-b.conf", "10-a.conflist", "05-c.json"],
      true,
      "05-c.json",
    ],
    ["Multus's own file never", ["00-multus.conf", "10-a.conf"], true, "10-a.conf"],
    ["other files never", ["99-x.conf.bak", "README"], true, undefined],
  ];
  for (const [what, names, installMultus, want] of rows)
    it(`the default CNI's file: ${what}`, () => assert.equal(defaultCniFile(names, installMultus), want));
});
