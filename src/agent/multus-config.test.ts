// The Multus sidecar's decisions, as a table (node-networking §6, host artefacts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { clusterNetwork, MultusConfigError, multusConf, multusKubeconfig } from "./multus-config.ts";

const calico = { name: "10-calico.conflist", text: '{"name":"k8s-pod-network","plugins":[]}' };
const flannel = { name: "20-flannel.conf", text: '{"name":"cbr0","type":"flannel"}' };
const multus = { name: "00-multus.conf", text: '{"name":"multus-cni-network"}' };

describe("Multus configuration (issue 21)", () => {
  const cases: Array<[string, string, Array<{ name: string; text: string }>, string | RegExp]> = [
    ["configured wins", "macvlan-default", [calico], "macvlan-default"],
    ["the first file's network by file name, Multus's own skipped", "", [flannel, multus, calico], "k8s-pod-network"],
    ["a .json file counts", "", [{ name: "05-x.json", text: '{"name":"x"}' }, calico], "x"],
    ["other files do not", "", [{ name: "01-notes.txt", text: "hi" }, flannel], "cbr0"],
    ["nothing to pick", "", [multus], /no CNI configuration/],
    ["not JSON", "", [{ name: "01-bad.conf", text: "{" }], /01-bad.conf: not JSON/],
    ["no name", "", [{ name: "01-anon.conf", text: "{}" }], /no network name/],
  ];
  for (const [name, configured, files, want] of cases) {
    it(`issue 21: clusterNetwork: ${name}`, () => {
      if (typeof want === "string") assert.equal(clusterNetwork(configured, files), want);
      else
        assert.throws(
          () => clusterNetwork(configured, files),
          (e: unknown) => e instanceof MultusConfigError && want.test(e.message),
        );
    });
  }

  it("issue 21: 00-multus.conf is upstream's sidecar's, with the node's paths", () => {
    assert.deepEqual(
      JSON.parse(
        multusConf({ clusterNetwork: "k8s-pod-network", namespace: "kube-system", hostConfDir: "/etc/cni/net.d/" }),
      ),
      {
        cniVersion: "0.3.1",
        name: "multus-cni-network",
        type: "multus",
        confDir: "/etc/cni/net.d/",
        logLevel: "debug",
        logFile: "/var/log/multus.log",
        capabilities: { portMappings: true, bandwidth: true },
        namespaceIsolation: false,
        clusterNetwork: "k8s-pod-network",
        defaultNetworks: [],
        multusNamespace: "kube-system",
        systemNamespaces: [],
        kubeconfig: "/etc/cni/net.d/multus.d/multus.kubeconfig",
      },
    );
  });

  it("issue 21: the kubeconfig carries the API server (IPv6 bracketed), the CA and the current token", () => {
    const kc = parse(multusKubeconfig({ host: "2001:db8::1", port: "443", caPem: "CA", token: "tok\n" })) as {
      clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>;
      users: Array<{ user: { token: string } }>;
      "current-context": string;
    };
    assert.equal(kc.clusters[0]!.cluster.server, "https://[2001:db8::1]:443");
    assert.equal(Buffer.from(kc.clusters[0]!.cluster["certificate-authority-data"], "base64").toString(), "CA");
    assert.equal(kc.users[0]!.user.token, "tok");
    assert.equal(kc["current-context"], "multus-context");
    assert.throws(() => multusKubeconfig({ host: "", port: "443", caPem: "CA", token: "t" }), MultusConfigError);
    assert.throws(
      () => multusKubeconfig({ host: "192.0.2.1", port: "443", caPem: "CA", token: " " }),
      /token is empty/,
    );
  });
});
