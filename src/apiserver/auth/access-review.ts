/**
 * SelfSubjectAccessReview (authorization.k8s.io/v1), what `kubectl auth can-i` asks: would
 * the requester be allowed this verb on this resource or path? Answered by the same RBAC
 * decision that guards real requests.
 */
import { badRequest } from "../http-errors.ts";
import { isObj } from "../json-values.ts";
import type { UserInfo } from "./authenticator.ts";
import type { Attributes } from "./rbac.ts";

export const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

interface Spec {
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export function accessReview(
  user: UserInfo,
  body: unknown,
  allows: (a: Attributes) => boolean,
): Record<string, unknown> {
  if (!isObj(body) || !isObj(body["spec"])) throw badRequest("the request body must be a SelfSubjectAccessReview");
  const spec = body["spec"] as Spec;
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  let attrs: Attributes;
  if (ra !== undefined) {
    attrs = {
      user,
      verb: ra.verb ?? "",
      path: "",
      resource: {
        group: ra.group ?? "",
        resource: ra.resource ?? "",
        subresource: ra.subresource ?? "",
        namespace: ra.namespace ?? "",
        name: ra.name ?? "",
      },
    };
  } else if (nra !== undefined) {
    attrs = { user, verb: nra.verb ?? "", path: nra.path ?? "" };
  } else {
    throw badRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified");
  }
  const allowed = allows(attrs);
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: {},
    spec,
    status: allowed ? { allowed: true, reason: "allowed by RBAC" } : { allowed: false },
  };
}
