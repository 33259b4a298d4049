/**
 * ServiceAccount tokens as kube-apiserver's TokenRequest issues them: JWTs with the
 * `kubernetes.io` claims (namespace, service account name and uid), an audience and an
 * expiry. Signed with HS256 and a key that lives as long as the server: only this server
 * reads them, so the key never needs to leave it (kube-apiserver signs with RS256 so that
 * others can verify).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface TokenClaims extends ServiceAccountRef {
  audiences: string[];
  /** Seconds since the epoch. */
  expires: number;
}

const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString("base64url");

export class TokenIssuer {
  readonly #key = randomBytes(32);

  #sign(input: string): Buffer {
    return createHmac("sha256", this.#key).update(input).digest();
  }

  issue(sa: ServiceAccountRef, audiences: string[], expirationSeconds: number, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const payload = {
      aud: audiences,
      exp: iat + expirationSeconds,
      iat,
      nbf: iat,
      iss: ISSUER,
      sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
      "kubernetes.io": { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid } },
    };
    const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`;
    return `${input}.${this.#sign(input).toString("base64url")}`;
  }

  /** The claims of a token this issuer signed and that has not expired; undefined otherwise. */
  verify(token: string, now = Date.now()): TokenClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, body, signature] = parts as [string, string, string];
    const expected = this.#sign(`${header}.${body}`);
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: {
      exp?: number;
      aud?: string[];
      "kubernetes.io"?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } };
    };
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return undefined;
    }
    const k = claims["kubernetes.io"];
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= now || k === undefined) return undefined;
    return {
      namespace: k.namespace ?? "",
      name: k.serviceaccount?.name ?? "",
      uid: k.serviceaccount?.uid ?? "",
      audiences: claims.aud ?? [],
      expires: claims.exp,
    };
  }
}
