/**
 * The legacy discovery documents kubectl and client-go read (`/api`, `/apis`,
 * `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>`), built from the served resources.
 */
import { hasScale } from "./scale.ts";
import type { ServedResource } from "./resources.ts";

interface GroupVersion {
  groupVersion: string;
  version: string;
}

export interface ApiGroup {
  name: string;
  versions: GroupVersion[];
  preferredVersion: GroupVersion;
}

export function apiVersions(host: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
  };
}

/** Resources that are requests rather than stored objects (served by auth/), create-only. */
const REVIEWS = { group: "authorization.k8s.io", version: "v1" };

export function apiGroups(resources: readonly ServedResource[]): ApiGroup[] {
  const byGroup = new Map<string, Set<string>>([[REVIEWS.group, new Set([REVIEWS.version])]]);
  for (const r of resources) {
    if (r.group === "") continue;
    let s = byGroup.get(r.group);
    if (s === undefined) byGroup.set(r.group, (s = new Set()));
    s.add(r.version);
  }
  return [...byGroup].map(([name, versions]) => {
    const vs = [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions: vs, preferredVersion: vs[0] as GroupVersion };
  });
}

const SUBRESOURCE_VERBS = ["get", "patch", "update"];

/** One group-version's APIResourceList, with the status and scale subresources; undefined when none is served. */
export function resourceList(
  resources: readonly ServedResource[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const rs = resources.filter((r) => r.group === group && r.version === version);
  const out: Array<Record<string, unknown>> = [];
  if (group === REVIEWS.group && version === REVIEWS.version) {
    out.push({
      name: "selfsubjectaccessreviews",
      singularName: "selfsubjectaccessreview",
      namespaced: false,
      kind: "SelfSubjectAccessReview",
      verbs: ["create"],
    });
  } else if (rs.length === 0) return undefined;
  for (const r of rs) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    };
    if (r.shortNames.length > 0) entry["shortNames"] = r.shortNames;
    if (r.categories.length > 0) entry["categories"] = r.categories;
    out.push(entry);
    const sub = { singularName: "", namespaced: r.namespaced, verbs: SUBRESOURCE_VERBS };
    if (hasScale(r))
      out.push({ name: `${r.plural}/scale`, group: "autoscaling", version: "v1", kind: "Scale", ...sub });
    if (r.statusSubresource) out.push({ name: `${r.plural}/status`, kind: r.kind, ...sub });
    if (r.group === "" && r.plural === "serviceaccounts") {
      out.push({
        ...sub,
        name: "serviceaccounts/token",
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: out,
  };
}
