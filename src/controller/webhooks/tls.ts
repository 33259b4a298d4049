/**
 * The webhook's serving certificate: loaded from the mounted files (`--tls-server-cert`,
 * `--tls-server-key`, with the CA from `ca.crt` beside them) or, when none is mounted,
 * generated at start by a CA of our own. Generated certificates are renewed once less than
 * a third of their validity remains, so the API server never calls an expired endpoint.
 */
import { readFileSync } from "node:fs";
import { generateCA, issueServingCert, secondsUntilExpiry, type KeyPairPem } from "../../pki/certs.ts";

export interface WebhookTls {
  serving: KeyPairPem;
  caPem: string;
  source: "files" | "generated";
  validitySeconds: number;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  validityDays?: number;
  /** The shared Secret (src/controller/webhooks/tls-secret.ts) when no files are mounted; the chart's `tls.secretName`. */
  secretName?: string;
}

export function loadOrGenerateTls(o: TlsOptions, now = Date.now()): WebhookTls {
  if (o.certFile !== undefined && o.keyFile !== undefined) {
    const certPem = readFileSync(o.certFile, "utf8");
    const keyPem = readFileSync(o.keyFile, "utf8");
    // Without a CA file the certificate is taken as its own anchor (a self-signed mount).
    const caPem = o.caFile !== undefined ? readFileSync(o.caFile, "utf8") : certPem;
    return { serving: { certPem, keyPem }, caPem, source: "files", validitySeconds: secondsUntilExpiry(certPem, now) };
  }
  const days = o.validityDays ?? 365;
  const ca = generateCA("spiderpool-controller-webhook-ca", days * 10);
  const serving = issueServingCert(ca, {
    dnsNames: o.dnsNames ?? [],
    ipAddresses: o.ipAddresses ?? [],
    validityDays: days,
  });
  return { serving, caPem: ca.certPem, source: "generated", validitySeconds: days * 86_400 };
}

/** True when a generated certificate should be replaced now. */
export function dueForRotation(tls: WebhookTls, now = Date.now()): boolean {
  if (tls.source !== "generated") return false;
  return secondsUntilExpiry(tls.serving.certPem, now) < tls.validitySeconds / 3;
}
