import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCniArgs } from "./args.ts";
import { parseNetConf } from "./config.ts";
import { CniError } from "./errors.ts";
import { renderResult } from "./result.ts";
import { SUPPORTED_VERSIONS } from "./version.ts";

const conf = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "macvlan-v4",
    type: "macvlan",
    ipam: { type: "spiderpool", ...ipam },
    ...extra,
  });

function cniError(fn: () => unknown, code: number, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.cniCode, code);
    assert.equal(e.message, message);
    return true;
  });
}

describe("CNI_ARGS", () => {
  it("reads the Kubernetes keys and ignores the rest", () => {
    assert.deepEqual(
      parseCniArgs(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1;IP=192.0.2.5;OTHER=x",
      ),
      {
        ignoreUnknown: true,
        podNamespace: "default",
        podName: "web-0",
        infraContainerId: "abc",
        podUid: "u-1",
        ip: "192.0.2.5",
      },
    );
    assert.deepEqual(parseCniArgs(undefined), { ignoreUnknown: false });
    assert.deepEqual(parseCniArgs("K8S_POD_NAME="), { ignoreUnknown: false, podName: "" });
  });
  it("refuses a pair without '='", () => {
    cniError(() => parseCniArgs("K8S_POD_NAME"), 4, 'invalid CNI_ARGS: ARGS: invalid pair "K8S_POD_NAME"');
  });
});

describe("network configuration", () => {
  it("reads Spiderpool's ipam keys with their defaults", () => {
    assert.deepEqual(parseNetConf(conf({})), {
      cniVersion: "1.0.0",
      name: "macvlan-v4",
      type: "macvlan",
      ipam: {
        type: "spiderpool",
        logLevel: "debug",
        defaultIPv4IPPool: [],
        defaultIPv6IPPool: [],
        cleanGateway: false,
        matchMasterSubnet: false,
        socketPath: "/var/run/spidernet/spiderpool.sock",
      },
    });
    const full = parseNetConf(
      conf({
        log_level: "INFO",
        default_ipv4_ippool: ["v4-*"],
        default_ipv6_ippool: ["v6"],
        clean_gateway: true,
        match_master_subnet: true,
        ipam_unix_socket_path: "/run/sp.sock",
        log_file_max_size: 10,
      }),
    );
    assert.equal(full.ipam.logLevel, "info");
    assert.deepEqual(full.ipam.defaultIPv4IPPool, ["v4-*"]);
    assert.equal(full.ipam.cleanGateway, true);
    assert.equal(full.ipam.socketPath, "/run/sp.sock");
    assert.equal(full.ipam.matchMasterSubnet, true);
    // An SR-IOV attachment: Multus adds the VF's PCI address, the PF behind it is the master.
    assert.equal(parseNetConf(conf({}, { type: "sriov", deviceID: "0000:af:06.2" })).deviceID, "0000:af:06.2");
  });
  it("accepts every supported version", () => {
    for (const v of SUPPORTED_VERSIONS) assert.equal(parseNetConf(conf({}, { cniVersion: v })).cniVersion, v);
  });
  it("the spec's error for an unsupported version", () => {
    cniError(
      () => parseNetConf(conf({}, { cniVersion: "0.2.0" })),
      1,
      "unsupported specified CNI version 0.2.0, the CNI versions supported by Spiderpool: [0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]",
    );
  });
  it("bad input, each with its code", () => {
    cniError(
      () => parseNetConf("{"),
      6,
      "failed to decode the network configuration: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
    );
    cniError(
      () => parseNetConf('{"cniVersion":"1.0.0"}'),
      7,
      "invalid network configuration: the 'ipam' object is missing",
    );
    cniError(
      () => parseNetConf(conf({ type: "host-local" })),
      7,
      "invalid network configuration: ipam.type must be 'spiderpool', got 'host-local'",
    );
    cniError(
      () => parseNetConf(conf({ log_level: "loud" })),
      7,
      "invalid network configuration: ipam.log_level 'loud' is not one of debug, info, warn, error, fatal, panic",
    );
    cniError(
      () => parseNetConf(conf({ log_file_max_size: "10" })),
      7,
      "invalid network configuration: ipam.log_file_max_size must be an integer",
    );
    cniError(
      () => parseNetConf(conf({ default_ipv4_ippool: "p" })),
      7,
      "invalid network configuration: ipam.default_ipv4_ippool must be a list of pool names",
    );
    cniError(
      () => parseNetConf(conf({ clean_gateway: "yes" })),
      7,
      "invalid network configuration: ipam.clean_gateway must be true or false",
    );
  });
  it("GC's valid attachments", () => {
    const c = parseNetConf(
      conf({}, { cniVersion: "1.1.0", "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }] }),
    );
    assert.deepEqual(c.validAttachments, [{ containerID: "c1", ifname: "eth0" }]);
    cniError(
      () => parseNetConf(conf({}, { "cni.dev/valid-attachments": [{ containerID: "c1" }] })),
      7,
      "invalid network configuration: cni.dev/valid-attachments[0] needs containerID and ifname",
    );
  });
});

describe("results per version", () => {
  const ips = [
    { address: "192.0.2.10/24", gateway: "192.0.2.1", nic: "eth0", family: 4 as const },
    { address: "2001:db8::a/64", nic: "eth0", family: 6 as const },
    { address: "198.51.100.5/24", gateway: "198.51.100.1", nic: "net1", family: 4 as const },
  ];
  const routes = [
    { dst: "0.0.0.0/0", gw: "192.0.2.1", nic: "eth0" },
    { dst: "203.0.113.0/24", gw: "198.51.100.1", nic: "net1" },
  ];
  it("1.0.0 and 1.1.0: no per-IP version; only this NIC; empty DNS", () => {
    for (const v of ["1.0.0", "1.1.0"] as const) {
      assert.deepEqual(renderResult(v, "eth0", ips, routes), {
        cniVersion: v,
        ips: [{ address: "192.0.2.10/24", gateway: "192.0.2.1" }, { address: "2001:db8::a/64" }],
        routes: [{ dst: "0.0.0.0/0", gw: "192.0.2.1" }],
        dns: {},
      });
    }
  });
  it("0.3.x and 0.4.0: each IP carries its version", () => {
    for (const v of ["0.3.0", "0.3.1", "0.4.0"] as const) {
      assert.deepEqual(renderResult(v, "net1", ips, routes), {
        cniVersion: v,
        ips: [{ version: "4", address: "198.51.100.5/24", gateway: "198.51.100.1" }],
        routes: [{ dst: "203.0.113.0/24", gw: "198.51.100.1" }],
        dns: {},
      });
    }
  });
  it("the error object", () => {
    const e = new CniError(11, "try again later", "agent restarting");
    assert.deepEqual(e.toJSON("0.4.0"), {
      cniVersion: "0.4.0",
      code: 11,
      msg: "try again later",
      details: "agent restarting",
    });
  });
});
