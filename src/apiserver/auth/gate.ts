/**
 * Where the server asks who a request is from and whether it may proceed: authentication
 * and RBAC authorization when they are on (`auth: true`), everything allowed as the admin
 * when they are off (tests that do not need them). Refusals are kube-apiserver's 401
 * Unauthorized and 403 Forbidden Statuses.
 */
import { randomBytes } from "node:crypto";
import { HttpError } from "../http-errors.ts";
import type { ServedResource } from "../resources.ts";
import type { Store } from "../store.ts";
import { ADMIN, authenticate, type UserInfo } from "./authenticator.ts";
import { authorize, forbiddenMessage, type Attributes, type RbacObject, type RbacPolicy } from "./rbac.ts";
import { TokenIssuer } from "./tokens.ts";

const RBAC = "rbac.authorization.k8s.io";

export interface ResourceRequest {
  resource: ServedResource;
  subresource: string;
  namespace: string;
  name: string;
}

function refusal(code: 401 | 403, message: string, details?: Record<string, unknown>): HttpError {
  return new HttpError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: code === 401 ? "Unauthorized" : "Forbidden",
    ...(details !== undefined ? { details } : {}),
    code,
  });
}

export class AccessGate {
  readonly enabled: boolean;
  /** The bearer token of the admin kubeconfig (`system:masters`). */
  readonly adminToken: string;
  readonly issuer = new TokenIssuer();
  readonly #store: Store;
  readonly #policy: RbacPolicy;

  constructor(store: Store, enabled: boolean) {
    this.enabled = enabled;
    this.#store = store;
    // Without authentication any token passes; the kubeconfig keeps the old fixed one.
    this.adminToken = enabled ? randomBytes(24).toString("base64url") : "embedded";
    const list = (plural: string, ns?: string): RbacObject[] =>
      store.list(`${plural}.${RBAC}`, ns) as unknown as RbacObject[];
    this.#policy = {
      clusterRoles: () => list("clusterroles"),
      clusterRoleBindings: () => list("clusterrolebindings"),
      roles: (ns) => list("roles", ns),
      roleBindings: (ns) => list("rolebindings", ns),
    };
  }

  /** The requester; 401 when authentication is on and the token is missing, unknown or expired. */
  user(authorization: string | undefined): UserInfo {
    if (!this.enabled) return ADMIN;
    const user = authenticate(authorization, this.adminToken, this.issuer, this.#store);
    if (user === undefined) throw refusal(401, "Unauthorized");
    return user;
  }

  /** A request for a path that is not a resource (discovery, OpenAPI, metrics). */
  checkPath(user: UserInfo, method: string, path: string): void {
    this.#check({ user, verb: method.toLowerCase(), path });
  }

  checkResource(user: UserInfo, verb: string, r: ResourceRequest, path: string): void {
    this.#check({
      user,
      verb,
      path,
      resource: {
        group: r.resource.group,
        resource: r.resource.plural,
        subresource: r.subresource,
        namespace: r.namespace,
        name: r.name,
      },
    });
  }

  /** The test knobs under /_embedded/ (faults, latency, dropped watches) are the admin's alone. */
  checkAdmin(user: UserInfo, path: string): void {
    if (!user.groups.includes("system:masters")) {
      throw refusal(403, `forbidden: User "${user.name}" cannot post path "${path}": test controls are admin-only`);
    }
  }

  /** Whether RBAC allows these attributes (everything, with authorization off). */
  allows(a: Attributes): boolean {
    return !this.enabled || authorize(a, this.#policy);
  }

  #check(a: Attributes): void {
    if (this.allows(a)) return;
    const r = a.resource;
    throw refusal(
      403,
      forbiddenMessage(a),
      r === undefined ? undefined : { name: r.name, group: r.group, kind: r.resource },
    );
  }
}

/** The verb RBAC knows a request by, as kube-apiserver's request-info resolver names it. */
export function verbOf(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case "GET":
      return watch ? "watch" : hasName ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return hasName ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}
