import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { CertificateError, generateCA, issueServingCert, secondsUntilExpiry } from "./certs.ts";

describe("pki", () => {
  it("a CA-signed serving certificate verifies against the CA, for its names only", async () => {
    const ca = generateCA("spiderpool-test-ca");
    const serving = issueServingCert(ca, { dnsNames: ["webhook.test"], ipAddresses: ["127.0.0.1", "::1"] });
    const x = new X509Certificate(serving.certPem);
    assert.equal(x.verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.match(x.subjectAltName ?? "", /DNS:webhook.test/);
    assert.match(x.subjectAltName ?? "", /IP Address:127.0.0.1/);
    assert.match(x.subjectAltName ?? "", /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/);
    assert.ok(secondsUntilExpiry(serving.certPem) > 364 * 86400);
    assert.equal(new X509Certificate(ca.certPem).ca, true);

    // A real TLS handshake on loopback, trusting only the CA.
    const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const get = (servername?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, ca: ca.certPem, ...(servername ? { servername } : {}) },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", reject);
        req.end();
      });
    try {
      assert.equal(await get(), "ok");
      assert.equal(await get("webhook.test"), "ok");
      await assert.rejects(get("other.test"), /does not match|altnames/i);
    } finally {
      server.close();
    }
  });

  it("refuses a certificate without names or with a bad address", async () => {
    const ca = generateCA("x");
    assert.throws(() => issueServingCert(ca, {}), CertificateError);
    assert.throws(() => issueServingCert(ca, { ipAddresses: ["999.1.1.1"] }), /is not an IP address/);
  });
});
