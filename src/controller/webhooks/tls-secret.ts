/**
 * The webhook certificate every controller replica serves: one Secret, created by the first
 * replica to start and renewed by whichever finds it due, so the `caBundle` registered once
 * verifies every replica and losing one breaks no admission. Renewals keep the CA, so a
 * replica still serving the previous certificate stays verifiable until it reloads.
 *
 * The chart's `tls.method=auto` renders this Secret (same keys, the CA's key included, the
 * validity annotation) so the caBundle it writes is the CA the controller serves from and
 * renews with; the controller creates it only when it is missing (no chart, or deleted).
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { generateCA, issueServingCert, secondsUntilExpiry, type CertificateAuthority } from "../../pki/certs.ts";
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  Resources,
  type KubeClient,
  type KubeObject,
} from "../../kube/index.ts";
import { loadOrGenerateTls, type TlsOptions, type WebhookTls } from "./tls.ts";

export const WEBHOOK_TLS_SECRET = "spiderpool-controller-webhook-tls";
const CA_NAME = "spiderpool-controller-webhook-ca";
const VALIDITY = "spiderpool.spidernet.io/validity-seconds";

interface Secret extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");

function caFromPem(certPem: string, keyPem: string): CertificateAuthority {
  const privateKey = createPrivateKey(keyPem);
  return { name: CA_NAME, certPem, keyPem, privateKey, publicKey: createPublicKey(privateKey) };
}

function fromSecret(s: Secret): { tls: WebhookTls; ca: CertificateAuthority } | undefined {
  const d = s.data ?? {};
  const [certPem, keyPem, caPem, caKey] = [d["tls.crt"], d["tls.key"], d["ca.crt"], d["ca.key"]].map(unb64);
  if (!certPem || !keyPem || !caPem || !caKey) return undefined;
  const validitySeconds = Number(s.metadata.annotations?.[VALIDITY] ?? 0);
  try {
    return {
      tls: { serving: { certPem, keyPem }, caPem, source: "generated", validitySeconds },
      ca: caFromPem(caPem, caKey),
    };
  } catch {
    return undefined;
  }
}

function toSecret(ns: string, name: string, tls: WebhookTls, ca: CertificateAuthority, base?: Secret): Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    ...base,
    metadata: {
      ...base?.metadata,
      name,
      namespace: ns,
      annotations: { ...base?.metadata.annotations, [VALIDITY]: String(tls.validitySeconds) },
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": b64(tls.serving.certPem),
      "tls.key": b64(tls.serving.keyPem),
      "ca.crt": b64(ca.certPem),
      "ca.key": b64(ca.keyPem),
    },
  };
}

/**
 * The certificate to serve now. Mounted files win (they are shared by whoever mounts them);
 * otherwise the Secret's, made or renewed here when it is missing or due (a third of its
 * validity left), with resourceVersion preconditions so two replicas never both win.
 */
export async function sharedTls(client: KubeClient, ns: string, o: TlsOptions, now = Date.now()): Promise<WebhookTls> {
  if (o.certFile !== undefined && o.keyFile !== undefined) return loadOrGenerateTls(o, now);
  const days = o.validityDays ?? 365;
  const name = o.secretName ?? WEBHOOK_TLS_SECRET;
  for (let attempt = 0; attempt < 5; attempt++) {
    let cur: Secret | undefined;
    try {
      cur = await client.get<Secret>(Resources.secrets, name, ns);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const have = cur === undefined ? undefined : fromSecret(cur);
    if (have !== undefined && secondsUntilExpiry(have.tls.serving.certPem, now) >= have.tls.validitySeconds / 3)
      return have.tls;
    const ca = have?.ca ?? generateCA(CA_NAME, days * 10);
    const serving = issueServingCert(ca, {
      dnsNames: o.dnsNames ?? [],
      ipAddresses: o.ipAddresses ?? [],
      validityDays: days,
    });
    const tls: WebhookTls = { serving, caPem: ca.certPem, source: "generated", validitySeconds: days * 86_400 };
    try {
      if (cur === undefined) await client.create(Resources.secrets, toSecret(ns, name, tls, ca));
      else await client.update(Resources.secrets, toSecret(ns, name, tls, ca, cur));
      return tls;
    } catch (err) {
      // Another replica made or renewed it first: serve theirs.
      if (!isAlreadyExists(err) && !isConflict(err)) throw err;
    }
  }
  throw new Error(`Secret ${ns}/${name}: still contended after 5 attempts`);
}
