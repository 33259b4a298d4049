import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidAnnotationError } from "./errors.ts";
import { parseMultusDefaultNetwork, parseMultusNetworks, parseSmcCniVersion, parseSmcCrName } from "./multus.ts";

const N = "wrong input, invalid format of Pod annotation 'k8s.v1.cni.cncf.io/networks': ";
const D = "wrong input, invalid format of Pod annotation 'v1.multus-cni.io/default-network': ";

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => err instanceof InvalidAnnotationError && err.message === message);
}

describe("k8s.v1.cni.cncf.io/networks", () => {
  it("text form", () => {
    assert.deepEqual(parseMultusNetworks("kube-system/macvlan-a@net1, macvlan-b", "app"), [
      { namespace: "kube-system", name: "macvlan-a", interface: "net1" },
      { namespace: "app", name: "macvlan-b" },
    ]);
    assert.deepEqual(parseMultusNetworks("", "app"), []);
  });
  it("JSON form", () => {
    assert.deepEqual(
      parseMultusNetworks('[{"name":"a","namespace":"x","interface":"net2"},{"name":"b","ips":["192.0.2.5"]}]', "app"),
      [
        { namespace: "x", name: "a", interface: "net2" },
        { namespace: "app", name: "b" },
      ],
    );
  });
  it("invalid", () => {
    rejects(() => parseMultusNetworks("a/b/c", "app"), `${N}[0]: 'a/b/c' is not [namespace/]name[@interface]`);
    rejects(
      () => parseMultusNetworks("Bad_Name", "app"),
      `${N}[0]: network name 'Bad_Name' is not a DNS-1123 subdomain`,
    );
    rejects(
      () => parseMultusNetworks("a@", "app"),
      `${N}[0]: interface '' is not a valid interface name (1-15 bytes, no '/', ':', '@' or whitespace)`,
    );
    rejects(
      () => parseMultusNetworks("[{", "app"),
      `${N}invalid JSON: Expected property name or '}' in JSON at position 2 (line 1 column 3)`,
    );
    rejects(() => parseMultusNetworks('[{"name":3}]', "app"), `${N}[0].name: expected a string, got number 3`);
  });
});

describe("v1.multus-cni.io/default-network", () => {
  it("bare, namespaced and JSON", () => {
    assert.deepEqual(parseMultusDefaultNetwork("macvlan", "spiderpool"), { namespace: "spiderpool", name: "macvlan" });
    assert.deepEqual(parseMultusDefaultNetwork("kube-system/calico", "spiderpool"), {
      namespace: "kube-system",
      name: "calico",
    });
    assert.deepEqual(parseMultusDefaultNetwork('[{"name":"x","namespace":"y"}]', "spiderpool"), {
      namespace: "y",
      name: "x",
    });
  });
  it("invalid", () => {
    rejects(
      () => parseMultusDefaultNetwork("a,b", "ns"),
      `${D}'a,b' is not [namespace/]name: the default network is one network and takes no @interface`,
    );
    rejects(() => parseMultusDefaultNetwork("[]", "ns"), `${D}expected exactly one network, got 0`);
  });
});

describe("more invalid selections", () => {
  it("namespace, interface and '@' rules", () => {
    rejects(() => parseMultusNetworks("Bad_NS/net", "app"), `${N}[0]: namespace 'Bad_NS' is not a DNS-1123 label`);
    rejects(() => parseMultusNetworks("net@a@b", "app"), `${N}[0]: 'net@a@b' has more than one '@'`);
    rejects(
      () => parseMultusNetworks("net@averyveryverylongname", "app"),
      `${N}[0]: interface 'averyveryverylongname' is not a valid interface name (1-15 bytes, no '/', ':', '@' or whitespace)`,
    );
    rejects(
      () => parseMultusDefaultNetwork("{", "ns"),
      `${D}invalid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
    );
  });
});

describe("SpiderMultusConfig annotations", () => {
  const V = "wrong input, invalid format of SpiderMultusConfig annotation 'multus.spidernet.io/cni-version': ";
  const C = "wrong input, invalid format of SpiderMultusConfig annotation 'multus.spidernet.io/cr-name': ";
  it("cni-version: the four values, default 0.3.1", () => {
    assert.equal(parseSmcCniVersion(undefined), "0.3.1");
    for (const v of ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]) assert.equal(parseSmcCniVersion(v), v);
    rejects(
      () => parseSmcCniVersion("1.1.0"),
      `${V}unsupported CNI version '1.1.0', expected one of 0.3.0, 0.3.1, 0.4.0, 1.0.0`,
    );
  });
  it("cr-name: a DNS-1123 subdomain", () => {
    assert.equal(parseSmcCrName("macvlan-eth0.v4"), "macvlan-eth0.v4");
    for (const v of ["", "Upper", "a_b", "-a", "x".repeat(254)]) {
      rejects(
        () => parseSmcCrName(v),
        `${C}'${v}' is not a DNS-1123 subdomain (lower case alphanumerics, '-' and '.', at most 253 characters)`,
      );
    }
  });
});
