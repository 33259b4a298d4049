/**
 * spiderpool-init's executor: wait until the controller serves (its webhooks default and
 * check what is created next), then create each planned object; one that exists already
 * is left as it is, so a second run changes nothing. Every failure is logged with its cause
 * and retried with backoff, up to a deadline.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { SpiderpoolError } from "../errors/base.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isAlreadyExists, isNotFound } from "../kube/errors.ts";
import { Resources, resourceTypeOf, type ResourceType } from "../kube/resources.ts";
import type { InitConfig } from "./config.ts";
import { defaultCniFile, initObjects, type CniConfFile } from "./plan.ts";

export class InitTimeoutError extends SpiderpoolError {
  readonly code = "ERR_INIT_TIMEOUT";
}

const ENDPOINTS: ResourceType = { group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true };
const LEASE = "spiderpool-controller-leases";

export interface InitOptions {
  client: KubeClient;
  config: InitConfig;
  log: Logger;
  /** Give up after this long (the Job's own backoff then restarts it). */
  deadlineMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

export interface InitResult {
  created: string[];
  existing: string[];
}

export async function runInit(o: InitOptions): Promise<InitResult> {
  const deadline = Date.now() + (o.deadlineMs ?? 600_000);
  const retry = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    const b = new Backoff({ initialMs: o.backoff?.initialMs ?? 2000, maxMs: o.backoff?.maxMs ?? 10_000, jitter: 0.2 });
    for (let attempt = 1; ; attempt++) {
      let cause: unknown;
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch (err) {
        cause = err;
      }
      if (Date.now() > deadline) throw new InitTimeoutError(`gave up on ${what} after ${attempt} attempts`, { cause });
      o.log.warn({ err: cause, attempt }, `${what}: not yet, retrying`);
      await sleep(b.next());
    }
  };
  await retry("waiting for spiderpool-controller", () => controllerServing(o));
  o.log.info("spiderpool-controller is serving");
  const m = o.config.multus;
  if (m?.multusConfigMap !== undefined)
    o.log.warn(
      { configMap: m.multusConfigMap },
      "SPIDERPOOL_INIT_MULTUS_CONFIGMAP has no effect: each agent's multus-config sidecar writes Multus's configuration, there is no ConfigMap to patch",
    );
  const file =
    m !== undefined && m.defaultCniName === undefined
      ? await firstCniConf(m.cniDir, m.installMultus, o.log)
      : undefined;
  const result: InitResult = { created: [], existing: [] };
  for (const { kind, object } of initObjects(o.config, file)) {
    const rt = resourceTypeOf(kind);
    const id = `${kind.kind} ${object.metadata.namespace !== undefined ? `${object.metadata.namespace}/` : ""}${object.metadata.name}`;
    const outcome = await retry(`creating ${id}`, async () => {
      try {
        await o.client.create(rt, object as KubeObject);
        return "created" as const;
      } catch (err) {
        if (isAlreadyExists(err)) return "existing" as const;
        throw err;
      }
    });
    result[outcome].push(id);
    o.log.info({ object: id }, outcome === "created" ? "created" : "already exists, left as it is");
  }
  if (o.config.readinessFile !== undefined) await writeFile(o.config.readinessFile, "ready\n");
  return result;
}

/**
 * The controller serves when its Endpoints have an address, as upstream polls. Where there
 * are none (an API server without an endpoints controller, as the embedded one, which serves
 * the kind but never writes it), a held controller Lease stands in.
 */
async function controllerServing(o: InitOptions): Promise<true | undefined> {
  const ns = o.config.namespace;
  try {
    const ep = await o.client.get<KubeObject & { subsets?: { addresses?: unknown[] }[] }>(
      ENDPOINTS,
      o.config.controllerName,
      ns,
    );
    return (ep.subsets ?? []).some((s) => (s.addresses ?? []).length > 0) ? true : undefined;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const lease = await o.client.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.leases, LEASE, ns);
  return (lease.spec?.holderIdentity ?? "") !== "" ? true : undefined;
}

/** The default CNI's configuration file (plan.ts defaultCniFile); none when the directory is missing. */
async function firstCniConf(dir: string, installMultus: boolean, log: Logger): Promise<CniConfFile | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    log.warn({ err, dir }, "cannot read the CNI configuration directory; the default CNI SMC is named 'default'");
    return undefined;
  }
  const first = defaultCniFile(names, installMultus);
  return first === undefined ? undefined : { name: first, content: await readFile(join(dir, first), "utf8") };
}
