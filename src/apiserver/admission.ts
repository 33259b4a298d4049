/**
 * Dynamic admission, as kube-apiserver does it: the webhooks of the stored
 * Mutating- and ValidatingWebhookConfigurations are matched by rules (operations, groups,
 * versions, resources and subresources, scope), namespaceSelector and objectSelector, then
 * called over HTTPS with an admission.k8s.io/v1 AdmissionReview, verifying the server
 * against the configuration's caBundle. Mutating webhooks run in order and their JSON
 * patches are applied; validating webhooks run in parallel; failurePolicy decides what a
 * failed call means; warnings are passed on to the client.
 */
import { randomUUID } from "node:crypto";
import { request } from "node:https";
import { matchesLabelSelector } from "../api/selector.ts";
import { parseJson, stringifyJson } from "../api/int64.ts";
import type { LabelSelector } from "../api/meta.ts";
import { HttpError, statusError } from "./http-errors.ts";
import { jsonPatch } from "./patch.ts";
import type { AdmissionRequest, Admitter } from "./registry.ts";
import type { Obj, Store } from "./store.ts";
import type { Status } from "../kube/status.ts";

interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: "Cluster" | "Namespaced" | "*";
}

interface Webhook {
  name?: string;
  clientConfig?: {
    url?: string;
    caBundle?: string;
    service?: { namespace?: string; name?: string; path?: string; port?: number };
  };
  rules?: Rule[];
  failurePolicy?: "Fail" | "Ignore";
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  status?: Partial<Status>;
  patch?: string;
  patchType?: string;
  warnings?: string[];
}

const has = (list: string[] | undefined, v: string): boolean => (list ?? []).some((x) => x === "*" || x === v);

function ruleMatches(rule: Rule, req: AdmissionRequest): boolean {
  const r = req.resource;
  if (!has(rule.operations, req.operation)) return false;
  if (!has(rule.apiGroups, r.group) || !has(rule.apiVersions, r.version)) return false;
  const scope = rule.scope ?? "*";
  if (scope === "Cluster" && r.namespaced) return false;
  if (scope === "Namespaced" && !r.namespaced) return false;
  const full = req.subresource === "" ? r.plural : `${r.plural}/${req.subresource}`;
  return (rule.resources ?? []).some((res) => {
    if (res === "*") return req.subresource === "";
    if (res === "*/*") return true;
    const [name, sub] = res.split("/");
    if (sub === undefined) return name === r.plural && req.subresource === "";
    if (name === "*") return sub === req.subresource;
    if (sub === "*") return name === r.plural;
    return res === full;
  });
}

export class WebhookAdmitter implements Admitter {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  #webhooks(kind: "mutating" | "validating"): Webhook[] {
    const key =
      kind === "mutating"
        ? "mutatingwebhookconfigurations.admissionregistration.k8s.io"
        : "validatingwebhookconfigurations.admissionregistration.k8s.io";
    return this.#store.list(key).flatMap((cfg) => (cfg["webhooks"] as Webhook[] | undefined) ?? []);
  }

  #matches(w: Webhook, req: AdmissionRequest): boolean {
    // Webhook configurations are never themselves subject to webhooks, as in kube-apiserver.
    if (req.resource.group === "admissionregistration.k8s.io") return false;
    if (!(w.rules ?? []).some((rule) => ruleMatches(rule, req))) return false;
    if (w.namespaceSelector !== undefined && (req.resource.namespaced || req.resource.plural === "namespaces")) {
      const nsName = req.resource.plural === "namespaces" ? req.name : req.namespace;
      const ns = this.#store.get("namespaces", nsName);
      const labels =
        req.resource.plural === "namespaces" ? (req.object ?? req.oldObject)?.metadata.labels : ns?.metadata.labels;
      if (!matchesLabelSelector(w.namespaceSelector, labels)) return false;
    }
    if (w.objectSelector !== undefined) {
      const n = req.object !== undefined && matchesLabelSelector(w.objectSelector, req.object.metadata.labels);
      const o = req.oldObject !== undefined && matchesLabelSelector(w.objectSelector, req.oldObject.metadata.labels);
      if (!n && !o) return false;
    }
    return true;
  }

  async mutate(req: AdmissionRequest): Promise<{ object: Obj | undefined; warnings: string[] }> {
    let object = req.object;
    const warnings: string[] = [];
    for (const w of this.#webhooks("mutating")) {
      if (!this.#matches(w, { ...req, object })) continue;
      const res = await this.#call(w, { ...req, object });
      if (res === undefined) continue;
      warnings.push(...(res.warnings ?? []));
      if (res.allowed !== true) throw denied(w, res);
      if (res.patch !== undefined && object !== undefined) {
        if (res.patchType !== undefined && res.patchType !== "JSONPatch") {
          throw failed(w, `unsupported patchType ${res.patchType}`);
        }
        let ops: unknown;
        try {
          ops = parseJson(Buffer.from(res.patch, "base64").toString("utf8"));
          object = jsonPatch(object, ops) as Obj;
        } catch (err) {
          throw failed(w, `the returned patch cannot be applied: ${(err as Error).message}`);
        }
      }
    }
    return { object, warnings };
  }

  async validate(req: AdmissionRequest): Promise<{ warnings: string[] }> {
    const hooks = this.#webhooks("validating").filter((w) => this.#matches(w, req));
    const results = await Promise.allSettled(hooks.map(async (w) => ({ w, res: await this.#call(w, req) })));
    const warnings: string[] = [];
    for (const r of results) {
      if (r.status === "rejected") throw r.reason;
      const { w, res } = r.value;
      if (res === undefined) continue;
      warnings.push(...(res.warnings ?? []));
      if (res.allowed !== true) throw denied(w, res);
    }
    return { warnings };
  }

  /** One call; undefined when it failed and the failure policy is Ignore. */
  async #call(w: Webhook, req: AdmissionRequest): Promise<ReviewResponse | undefined> {
    const policy = w.failurePolicy ?? "Fail";
    try {
      return await this.#post(w, req);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (policy === "Ignore") return undefined;
      throw failed(w, (err as Error).message);
    }
  }

  #post(w: Webhook, req: AdmissionRequest): Promise<ReviewResponse> {
    const url = w.clientConfig?.url;
    if (url === undefined) {
      return Promise.reject(
        new Error("only clientConfig.url is supported by the embedded API server (no Services to route to)"),
      );
    }
    if (!(w.admissionReviewVersions ?? ["v1"]).includes("v1")) {
      return Promise.reject(new Error("admissionReviewVersions must include v1"));
    }
    const target = new URL(url);
    if (target.protocol !== "https:")
      return Promise.reject(new Error(`webhook URL must be https, got ${target.protocol}`));
    const uid = randomUUID();
    const r = req.resource;
    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid,
        kind: { group: r.group, version: r.version, kind: r.kind },
        resource: { group: r.group, version: r.version, resource: r.plural },
        ...(req.subresource !== "" ? { subResource: req.subresource } : {}),
        requestKind: { group: r.group, version: r.version, kind: r.kind },
        requestResource: { group: r.group, version: r.version, resource: r.plural },
        name: req.name,
        namespace: req.namespace,
        operation: req.operation,
        userInfo: { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
        object: req.object ?? null,
        oldObject: req.oldObject ?? null,
        dryRun: req.dryRun,
        options: {
          apiVersion: "meta.k8s.io/v1",
          kind:
            req.operation === "CREATE"
              ? "CreateOptions"
              : req.operation === "UPDATE"
                ? "UpdateOptions"
                : "DeleteOptions",
        },
      },
    };
    const body = stringifyJson(review);
    const timeoutMs = Math.min(Math.max(w.timeoutSeconds ?? 10, 1), 30) * 1000;
    const ca =
      w.clientConfig?.caBundle !== undefined && w.clientConfig.caBundle !== ""
        ? Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")
        : undefined;
    return new Promise((resolve, reject) => {
      const rq = request(
        target,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
          },
          ...(ca !== undefined ? { ca } : {}),
          timeout: timeoutMs,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
              return reject(new Error(`Post "${url}": the server answered ${res.statusCode}`));
            }
            let parsed: { response?: ReviewResponse };
            try {
              parsed = parseJson(text) as { response?: ReviewResponse };
            } catch {
              return reject(new Error(`Post "${url}": the answer is not an AdmissionReview`));
            }
            const response = parsed.response;
            if (response === undefined) return reject(new Error(`Post "${url}": the AdmissionReview has no response`));
            if (response.uid !== uid)
              return reject(new Error(`Post "${url}": expected response.uid="${uid}", got "${response.uid ?? ""}"`));
            resolve(response);
          });
        },
      );
      rq.on("timeout", () =>
        rq.destroy(new Error(`Post "${url}": context deadline exceeded (timeout ${timeoutMs / 1000}s)`)),
      );
      rq.on("error", (err) => reject(new Error(`Post "${url}": ${err.message}`)));
      rq.end(body);
    });
  }
}

function denied(w: Webhook, res: ReviewResponse): HttpError {
  const by = `admission webhook "${w.name ?? ""}" denied the request`;
  const st = res.status ?? {};
  const code = typeof st.code === "number" && st.code >= 400 ? st.code : 400;
  const message = st.message ? `${by}: ${st.message}` : st.reason ? `${by}: ${st.reason}` : `${by} without explanation`;
  const err = statusError(code, st.reason ?? "", message, st.details?.causes);
  if (st.details !== undefined) err.status.details = { ...st.details };
  return err;
}

function failed(w: Webhook, why: string, code = 500): HttpError {
  return statusError(
    code,
    "InternalError",
    `Internal error occurred: failed calling webhook "${w.name ?? ""}": failed to call webhook: ${why}`,
  );
}
