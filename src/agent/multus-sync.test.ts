// The Multus sidecar against temporary directories standing in for the node's
// /etc/cni/net.d and /opt/cni/bin and the pod's service-account mount.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { syncMultus, uninstallMultus, type MultusSyncOptions } from "./multus-sync.ts";

describe("syncMultus and uninstallMultus (issue 21)", () => {
  let dir: string;
  let o: MultusSyncOptions;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "multus-sync-"));
    for (const d of ["net.d", "sa", "bin"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "net.d", "10-calico.conflist"), '{"name":"k8s-pod-network","plugins":[]}');
    writeFileSync(join(dir, "sa", "token"), "token-1");
    writeFileSync(join(dir, "sa", "ca.crt"), "CA");
    o = {
      confDir: join(dir, "net.d"),
      hostConfDir: "/etc/cni/net.d",
      namespace: "kube-system",
      clusterNetwork: "",
      serviceAccountDir: join(dir, "sa"),
      apiHost: "192.0.2.1",
      apiPort: "443",
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("issue 21: writes the kubeconfig (0600) and 00-multus.conf once; a second pass rewrites nothing", () => {
    assert.deepEqual(syncMultus(o), ["multus.d/multus.kubeconfig", "00-multus.conf"]);
    assert.equal(statSync(join(dir, "net.d", "multus.d", "multus.kubeconfig")).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, "net.d", "00-multus.conf"), "utf8"), /"clusterNetwork": "k8s-pod-network"/);
    assert.deepEqual(syncMultus(o), []);
  });

  it("issue 21: a rotated token rewrites only the kubeconfig", () => {
    syncMultus(o);
    writeFileSync(join(dir, "sa", "token"), "token-2");
    assert.deepEqual(syncMultus(o), ["multus.d/multus.kubeconfig"]);
    assert.match(readFileSync(join(dir, "net.d", "multus.d", "multus.kubeconfig"), "utf8"), /token-2/);
  });

  it("issue 21: a new default CNI file sorting first changes clusterNetwork", () => {
    syncMultus(o);
    writeFileSync(join(dir, "net.d", "05-cilium.conflist"), '{"name":"cilium"}');
    assert.deepEqual(syncMultus(o), ["00-multus.conf"]);
    assert.match(readFileSync(join(dir, "net.d", "00-multus.conf"), "utf8"), /"clusterNetwork": "cilium"/);
  });

  it("issue 21: nothing to pick fails and writes no 00-multus.conf", () => {
    rmSync(join(dir, "net.d", "10-calico.conflist"));
    assert.throws(() => syncMultus(o), /no CNI configuration/);
    assert.equal(existsSync(join(dir, "net.d", "00-multus.conf")), false);
  });

  it("issue 21: uninstall removes the binary, multus.d and 00-multus.conf, and nothing else", () => {
    syncMultus(o);
    writeFileSync(join(dir, "bin", "multus"), "bin");
    writeFileSync(join(dir, "bin", "macvlan"), "bin");
    assert.equal(uninstallMultus(o.confDir, join(dir, "bin")).length, 3);
    assert.equal(existsSync(join(dir, "bin", "multus")), false);
    assert.equal(existsSync(join(dir, "net.d", "multus.d")), false);
    assert.equal(existsSync(join(dir, "net.d", "00-multus.conf")), false);
    assert.ok(existsSync(join(dir, "bin", "macvlan")));
    assert.ok(existsSync(join(dir, "net.d", "10-calico.conflist")));
    assert.deepEqual(uninstallMultus(o.confDir, join(dir, "bin")), []);
  });
});
