/**
 * Who a request is from, as kube-apiserver's token authenticators answer it: the admin token
 * (the kubeconfig the server writes) is a member of `system:masters`; a ServiceAccount token
 * this server issued, whose ServiceAccount still exists with the same uid, is
 * `system:serviceaccount:<ns>:<name>` in the service-account groups. Anything else is no one.
 */
import { timingSafeEqual } from "node:crypto";
import type { Store } from "../store.ts";
import { ISSUER, type TokenIssuer } from "./tokens.ts";

export interface UserInfo {
  readonly name: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

export const ADMIN: UserInfo = { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authenticate(
  authorization: string | undefined,
  adminToken: string,
  issuer: TokenIssuer,
  store: Store,
): UserInfo | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (m === null) return undefined;
  const token = m[1] as string;
  if (sameToken(token, adminToken)) return ADMIN;
  const claims = issuer.verify(token);
  // A token for another audience (another service) is not one for this server.
  if (claims === undefined || !claims.audiences.includes(ISSUER)) return undefined;
  const sa = store.get("serviceaccounts", `${claims.namespace}/${claims.name}`);
  if (sa === undefined || sa.metadata.uid !== claims.uid) return undefined;
  return {
    name: `system:serviceaccount:${claims.namespace}:${claims.name}`,
    uid: claims.uid,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${claims.namespace}`, "system:authenticated"],
  };
}
