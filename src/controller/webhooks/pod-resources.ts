/**
 * The pod webhook's device-plugin steps (spiderpool-api §2.6 steps 2 and 3), pure: the
 * SpiderMultusConfigs a pod's Multus annotations name decide which master-NIC resources
 * (`spidernet.io/<master>-nic`) and how many sub-ENI slots it requests, so the scheduler
 * only places it on a node that advertises them. The SMCs are fetched by the caller.
 */
import {
  ANNO_MULTUS_DEFAULT_NETWORK,
  ANNO_MULTUS_NETWORKS,
  InvalidAnnotationError,
  parseMultusDefaultNetwork,
  parseMultusNetworks,
  type NetworkSelection,
} from "../../api/annotations/index.ts";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import type { PodLike } from "./pod.ts";
import { AdmissionDenied } from "./verdict.ts";

export const DEFAULT_SUB_ENI_RESOURCE = "spidernet.io/sub-eni";

/** What conf.yml turns on; both off unless the agent's device plugin advertises the resource. */
export interface PodResourceSteps {
  /** Step 2: `agent.networkResourcePlugin.enabled` with at least one `masterNIC` rule. */
  masterNIC: boolean;
  /** Step 3: the resource name, when an IaaS provider is set and the device plugin is on; else undefined. */
  subENI: string | undefined;
}

export const NO_RESOURCE_STEPS: PodResourceSteps = { masterNIC: false, subENI: undefined };

/**
 * Steps from conf.yml's `agent.networkResourcePlugin` and `iaasNetworkProvider` (§6.1). The
 * sub-ENI resource is the first subENI rule's `resourceName`, else `spidernet.io/sub-eni`.
 */
export function podResourceSteps(conf: Record<string, unknown>, fail: (m: string) => Error): PodResourceSteps {
  const mapping = (v: unknown, key: string): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) throw fail(`${key} must be a mapping`);
    return v as Record<string, unknown>;
  };
  const rules = (v: unknown, key: string): Record<string, unknown>[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw fail(`${key} must be a list`);
    return v.map((r, i) => mapping(r, `${key}[${i}]`));
  };
  const agent = mapping(conf["agent"], "agent");
  const plugin = mapping(agent["networkResourcePlugin"], "agent.networkResourcePlugin");
  if (plugin["enabled"] !== undefined && typeof plugin["enabled"] !== "boolean")
    throw fail("agent.networkResourcePlugin.enabled must be true or false");
  if (plugin["enabled"] !== true) return NO_RESOURCE_STEPS;
  const adv = mapping(plugin["resourceAdvertisement"], "agent.networkResourcePlugin.resourceAdvertisement");
  const A = "agent.networkResourcePlugin.resourceAdvertisement";
  const masterRules = rules(mapping(adv["masterNIC"], `${A}.masterNIC`)["rules"], `${A}.masterNIC.rules`);
  const subEniRules = rules(mapping(adv["subENI"], `${A}.subENI`)["rules"], `${A}.subENI.rules`);
  const serverUrl = mapping(conf["iaasNetworkProvider"], "iaasNetworkProvider")["serverUrl"];
  if (serverUrl !== undefined && serverUrl !== null && typeof serverUrl !== "string")
    throw fail("iaasNetworkProvider.serverUrl must be a string");
  const first = subEniRules[0]?.["resourceName"];
  if (first !== undefined && typeof first !== "string")
    throw fail(`${A}.subENI.rules[0].resourceName must be a string`);
  return {
    masterNIC: masterRules.length > 0,
    subENI: typeof serverUrl === "string" && serverUrl !== "" ? first || DEFAULT_SUB_ENI_RESOURCE : undefined,
  };
}

/** The networks the pod's Multus annotations name; a malformed annotation refuses the pod (Multus would fail it). */
export function referencedNetworks(pod: PodLike): NetworkSelection[] {
  const a = pod.metadata.annotations ?? {};
  const ns = pod.metadata.namespace ?? "";
  try {
    const out: NetworkSelection[] = [];
    const dflt = a[ANNO_MULTUS_DEFAULT_NETWORK];
    if (dflt !== undefined && dflt.trim() !== "") out.push(parseMultusDefaultNetwork(dflt, ns));
    const nets = a[ANNO_MULTUS_NETWORKS];
    if (nets !== undefined) out.push(...parseMultusNetworks(nets, ns));
    return out;
  } catch (err) {
    if (err instanceof InvalidAnnotationError) throw new AdmissionDenied(err.message, { cause: err });
    throw err;
  }
}

function masters(m: SpiderMultusConfig): string[] {
  const s = m.spec ?? {};
  switch (s.cniType) {
    case "macvlan":
    case "ipvlan":
    case "vlan":
      return s[s.cniType]?.master ?? [];
    case "ipoib":
      return s.ipoib?.master ? [s.ipoib.master] : [];
    default:
      return [];
  }
}

type Container = NonNullable<NonNullable<PodLike["spec"]>["containers"]>[number];

const has = (containers: readonly Container[], r: string) =>
  containers.some((c) => c.resources?.limits?.[r] !== undefined || c.resources?.requests?.[r] !== undefined);

function request(c: Container, r: string, n: number): void {
  c.resources ??= {};
  c.resources.requests = { ...c.resources.requests, [r]: String(n) };
  c.resources.limits = { ...c.resources.limits, [r]: String(n) };
}

/**
 * Steps 2 and 3 on the pod, given the referenced SMCs that exist (one entry per reference,
 * so an SMC named twice counts twice for sub-ENI slots, as each is its own NIC).
 */
export function injectDeviceResources<P extends PodLike>(
  pod: P,
  steps: PodResourceSteps,
  smcs: readonly SpiderMultusConfig[],
): P {
  const out = structuredClone(pod);
  const containers = out.spec?.containers ?? [];
  const first = containers[0];
  if (first === undefined) return out;
  if (steps.masterNIC) {
    const nics = [...new Set(smcs.flatMap(masters))].filter((n) => n !== "").sort();
    for (const nic of nics) {
      const r = `spidernet.io/${nic}-nic`;
      if (!has(containers, r)) request(first, r, 1);
    }
  }
  if (steps.subENI !== undefined && !has(containers, steps.subENI)) {
    const slots = smcs.filter((m) => m.spec?.cniType === "vlan" && m.spec.vlan?.vlanMode === "auto").length;
    if (slots > 0) request(first, steps.subENI, slots);
  }
  return out;
}
