/**
 * The TokenRequest subresource (`POST …/serviceaccounts/<name>/token`, authentication.k8s.io/v1),
 * which `kubectl create token` and kubelets use: a token for an existing ServiceAccount,
 * for the requested audiences (default: the API server's) and lifetime (default one hour,
 * at least ten minutes, as kube-apiserver requires).
 */
import { invalid, badRequest } from "../http-errors.ts";
import { isObj } from "../json-values.ts";
import type { Obj } from "../store.ts";
import { ISSUER, type TokenIssuer } from "./tokens.ts";

const MIN_SECONDS = 600;
const DEFAULT_SECONDS = 3600;

export function tokenRequest(issuer: TokenIssuer, sa: Obj, body: unknown): Record<string, unknown> {
  if (body !== undefined && !isObj(body)) throw badRequest("the request body must be a TokenRequest");
  const spec = (isObj(body) && isObj(body["spec"]) ? body["spec"] : {}) as {
    audiences?: string[];
    expirationSeconds?: number;
  };
  const seconds = spec.expirationSeconds ?? DEFAULT_SECONDS;
  const name = sa.metadata.name ?? "";
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS) {
    throw invalid({ group: "authentication.k8s.io", resource: "serviceaccounts", kind: "TokenRequest", name }, [
      {
        type: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${String(seconds)}: may not specify a duration less than 10 minutes`,
      },
    ]);
  }
  const audiences = spec.audiences !== undefined && spec.audiences.length > 0 ? spec.audiences : [ISSUER];
  const now = Date.now();
  const token = issuer.issue(
    { namespace: sa.metadata.namespace ?? "", name, uid: sa.metadata.uid ?? "" },
    audiences,
    seconds,
    now,
  );
  const ts = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace: sa.metadata.namespace, creationTimestamp: ts(now) },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: null },
    status: { token, expirationTimestamp: ts(now + seconds * 1000) },
  };
}
