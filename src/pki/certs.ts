/**
 * A certificate authority and serving certificates, generated in process: the controller's
 * webhook needs one at start when none is mounted, and the embedded API server and tests
 * need them for HTTPS. ECDSA P-256 (every Kubernetes TLS stack accepts it), signed with
 * node:crypto; the X.509 structure is encoded by der.ts.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { SpiderpoolError } from "../errors/base.ts";
import * as der from "./der.ts";

export class CertificateError extends SpiderpoolError {
  readonly code = "ERR_CERTIFICATE";
}

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends KeyPairPem {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const DAY_MS = 86_400_000;
const ECDSA_SHA256 = der.sequence(der.oid("1.2.840.10045.4.3.2"));
const OID = {
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

// keyUsage bits, as the first byte of the BIT STRING (bit 0 is the most significant).
const DIGITAL_SIGNATURE = 0x80;
const KEY_ENCIPHERMENT = 0x20;
const KEY_CERT_SIGN = 0x04;
const CRL_SIGN = 0x02;

function name(cn: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(id), der.octetString(value));
}

function spki(pub: KeyObject): Buffer {
  return pub.export({ type: "spki", format: "der" });
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
function keyId(pub: KeyObject): Buffer {
  const info = spki(pub);
  // For P-256 SPKI the key bits are the last 65 bytes (uncompressed point).
  return createHash("sha1")
    .update(info.subarray(info.length - 65))
    .digest();
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const sock = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head = "", tail = ""] = sock.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : sock.includes("::") ? tail.split(":") : [];
  const groups = sock.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function pem(label: string, body: Buffer): string {
  const b64 = body
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  authorityKey: KeyObject;
  validityDays: number;
  extensions: Buffer[];
}

function buildCertificate(s: CertSpec): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const now = Date.now();
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integerBytes(serial),
    ECDSA_SHA256,
    name(s.issuer),
    // Valid from a minute ago: clocks between nodes are never exactly in step.
    der.sequence(der.time(new Date(now - 60_000)), der.time(new Date(now + s.validityDays * DAY_MS))),
    name(s.subject),
    spki(s.publicKey),
    der.explicit(
      3,
      der.sequence(
        ...s.extensions,
        extension(OID.subjectKeyIdentifier, false, der.octetString(keyId(s.publicKey))),
        extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, keyId(s.authorityKey)))),
      ),
    ),
  );
  const signature = sign("sha256", tbs, s.signingKey);
  return pem("CERTIFICATE", der.sequence(tbs, ECDSA_SHA256, der.bitString(signature)));
}

function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

/** A self-signed CA, valid for `validityDays`. */
export function generateCA(commonName: string, validityDays = 3650): CertificateAuthority {
  const { privateKey, publicKey } = keyPair();
  const certPem = buildCertificate({
    subject: commonName,
    issuer: commonName,
    publicKey,
    signingKey: privateKey,
    authorityKey: publicKey,
    validityDays,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true), der.integer(0))),
      extension(OID.keyUsage, true, der.bitString(Buffer.from([DIGITAL_SIGNATURE | KEY_CERT_SIGN | CRL_SIGN]))),
    ],
  });
  return {
    name: commonName,
    privateKey,
    publicKey,
    certPem,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

export interface ServingCertOptions {
  /** DNS names, e.g. `spiderpool-controller.kube-system.svc`. */
  dnsNames?: readonly string[];
  /** IP addresses, e.g. `127.0.0.1`. */
  ipAddresses?: readonly string[];
  validityDays?: number;
}

/** A serving certificate signed by `ca`, with the names as subjectAltNames. */
export function issueServingCert(ca: CertificateAuthority, opts: ServingCertOptions): KeyPairPem {
  const dns = [...(opts.dnsNames ?? [])];
  const ips = [...(opts.ipAddresses ?? [])];
  for (const ip of ips) if (isIP(ip) === 0) throw new CertificateError(`'${ip}' is not an IP address`);
  if (dns.length + ips.length === 0) {
    throw new CertificateError("a serving certificate needs at least one DNS name or IP address");
  }
  const { privateKey, publicKey } = keyPair();
  const san = der.sequence(
    ...dns.map((d) => der.implicit(2, Buffer.from(d, "ascii"))),
    ...ips.map((ip) => der.implicit(7, ipBytes(ip))),
  );
  const certPem = buildCertificate({
    subject: dns[0] ?? (ips[0] as string),
    issuer: ca.name,
    publicKey,
    signingKey: ca.privateKey,
    authorityKey: ca.publicKey,
    validityDays: opts.validityDays ?? 365,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()),
      extension(OID.keyUsage, true, der.bitString(Buffer.from([DIGITAL_SIGNATURE | KEY_ENCIPHERMENT]))),
      extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, san),
    ],
  });
  return { certPem, keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

/** Seconds until a PEM certificate expires (negative once expired). */
export function secondsUntilExpiry(certPem: string, now = Date.now()): number {
  try {
    return Math.floor((new X509Certificate(certPem).validToDate.getTime() - now) / 1000);
  } catch (err) {
    throw new CertificateError(`cannot parse certificate: ${(err as Error).message}`, { cause: err });
  }
}
