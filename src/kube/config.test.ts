import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { inClusterConfig, loadKubeconfig, TokenSource } from "./config.ts";
import { KubeConfigError } from "./errors.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("kubeconfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("token, CA data, namespace, and the current context", () => {
    const p = write(
      "a.yaml",
      `apiVersion: v1
kind: Config
current-context: two
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority-data: ${b64(PEM)}}
- name: c2
  cluster: {server: "http://127.0.0.1:8080", insecure-skip-tls-verify: true, tls-server-name: api.test}
users:
- name: u1
  user: {token: abc}
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: kube-system}
- name: two
  context: {cluster: c2, user: u1}
`,
    );
    assert.deepEqual(loadKubeconfig(p), {
      server: "http://127.0.0.1:8080",
      insecureSkipTLSVerify: true,
      tlsServerName: "api.test",
      token: "abc",
    });
    assert.deepEqual(loadKubeconfig(p, "one"), {
      server: "https://127.0.0.1:6443",
      ca: PEM,
      token: "abc",
      namespace: "kube-system",
    });
  });

  it("client certificate and key from files relative to the kubeconfig, and from data", () => {
    write("ca.crt", PEM);
    write("client.crt", PEM);
    write("client.key", KEY);
    const p = write(
      "b.yaml",
      `current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.crt}}]
users: [{name: u, user: {client-certificate: client.crt, client-key: client.key}}, {name: d, user: {client-certificate-data: ${b64(PEM)}, client-key-data: ${b64(KEY)}}}]
contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: c, user: d}}]
`,
    );
    assert.deepEqual(loadKubeconfig(p), { server: "https://127.0.0.1:1", ca: PEM, cert: PEM, key: KEY });
    assert.deepEqual(loadKubeconfig(p, "y"), { server: "https://127.0.0.1:1", ca: PEM, cert: PEM, key: KEY });
  });

  it("clear errors for what cannot be used", () => {
    const bad = (text: string, re: RegExp): void => {
      const p = write("bad.yaml", text);
      assert.throws(
        () => loadKubeconfig(p),
        (e: unknown) => e instanceof KubeConfigError && re.test(e.message),
      );
    };
    bad("clusters: []", /has no current-context/);
    bad("current-context: x\ncontexts: []", /has no context 'x'/);
    bad("current-context: x\ncontexts: [{name: x, context: {cluster: nope}}]", /unknown cluster 'nope'/);
    bad(
      "current-context: x\nclusters: [{name: c, cluster: {server: s, certificate-authority: missing.crt}}]\ncontexts: [{name: x, context: {cluster: c}}]",
      /cannot read certificate-authority/,
    );
    bad(
      `current-context: x\nclusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {client-certificate-data: ${b64(PEM)}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]`,
      /needs both a client certificate and a key/,
    );
    assert.throws(() => loadKubeconfig(join(dir, "none.yaml")), /cannot load kubeconfig/);
  });

  it("in-cluster: service host, CA, namespace; the token file is re-read when it rotates", () => {
    const sa = mkdtempSync(join(dir, "sa-"));
    writeFileSync(join(sa, "token"), "t1\n");
    writeFileSync(join(sa, "ca.crt"), PEM);
    writeFileSync(join(sa, "namespace"), "spiderpool\n");
    const cfg = inClusterConfig({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, sa);
    assert.equal(cfg.server, "https://[fd00::1]:443");
    assert.equal(cfg.namespace, "spiderpool");
    assert.equal(cfg.ca, PEM);
    const tokens = new TokenSource(cfg);
    assert.equal(tokens.token(1_000), "t1");
    writeFileSync(join(sa, "token"), "t2\n");
    utimesSync(join(sa, "token"), new Date(), new Date(Date.now() + 5000));
    assert.equal(tokens.token(1_500), "t1", "checked at most once a second");
    assert.equal(tokens.token(2_100), "t2");
    assert.throws(() => inClusterConfig({}, sa), /not in a cluster/);
  });
});
