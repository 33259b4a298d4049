/**
 * The coordinator's configuration: what the agent answers from the SpiderCoordinator (§1.1),
 * and its merge with the NAD's netconf (§1.2: the NAD's value wins, the agent's fills gaps,
 * then the spec's defaults).
 */
import { ANNO_DEFAULT_ROUTE_NIC } from "../api/annotations/keys.ts";
import type { SpiderCoordinator } from "../api/coordinator.ts";
import type { ObjectMeta } from "../api/meta.ts";
import type { Family } from "../ip/index.ts";
import { CoordinatorConfigUnavailableError, CoordinatorModeError } from "./errors.ts";
import { checkRPFilter, parseMacPrefix, type CoordinatorNetConf } from "./netconf.ts";
import { hijackList, parsePolicyRoutes, type NormalRoute, type PolicyRoute } from "./routes.ts";

/** The agent's answer (upstream's `CoordinatorConfig` model). */
export interface AgentCoordinatorConfig {
  mode: string;
  overlayPodCIDR: string[];
  serviceCIDR: string[];
  hijackCIDR: string[];
  policyRoutes: PolicyRoute[];
  podMACPrefix: string;
  tunePodRoutes: boolean;
  podDefaultRouteNIC: string;
  hostRuleTable: number;
  podRPFilter: number;
  txQueueLen: number;
  vethLinkAddress: string;
  vethMTU: number;
}

/** Upstream's plugin saw the agent's 500 through its generated client; users match this text. */
function unavailable(reason: string): CoordinatorConfigUnavailableError {
  return new CoordinatorConfigUnavailableError(
    `failed to GetCoordinatorConfig: [GET /coordinator/config][500] getCoordinatorConfigFailure  ${JSON.stringify(reason)}`,
    reason,
  );
}

/**
 * The agent's side of §1.1: the first SpiderCoordinator (upstream takes `Items[0]`, not by
 * name), only once Synced; the pod's annotation overrides podDefaultRouteNIC.
 */
export function agentCoordinatorConfig(
  coordinators: readonly SpiderCoordinator[],
  pod: { metadata: ObjectMeta } | undefined,
  podNamespace: string,
  podName: string,
): AgentCoordinatorConfig {
  const scc = coordinators[0];
  if (scc === undefined) throw unavailable("coordinator config not found");
  if (scc.status?.phase !== "Synced") throw unavailable(`spidercoordinator: ${scc.metadata.name ?? ""} no ready`);
  if (pod === undefined) throw unavailable(`failed to get pod ${podNamespace}/${podName}`);
  const s = scc.spec;
  const nic = pod.metadata.annotations?.[ANNO_DEFAULT_ROUTE_NIC];
  return {
    // What the CR's mutating webhook fills in, for a CR written without it.
    mode: s.mode ?? "auto",
    overlayPodCIDR: scc.status.overlayPodCIDR ?? [],
    serviceCIDR: scc.status.serviceCIDR ?? [],
    hijackCIDR: s.hijackCIDR ?? [],
    policyRoutes: s.policyRoutes ?? [],
    podMACPrefix: s.podMACPrefix ?? "",
    tunePodRoutes: s.tunePodRoutes ?? true,
    podDefaultRouteNIC: nic !== undefined && nic !== "" ? nic : (s.podDefaultRouteNIC ?? ""),
    hostRuleTable: s.hostRuleTable ?? DEFAULT_HOST_RULE_TABLE,
    podRPFilter: s.podRPFilter ?? 0,
    txQueueLen: s.txQueueLen ?? 0,
    vethLinkAddress: s.vethLinkAddress ?? "",
    vethMTU: s.vethMTU ?? DEFAULT_VETH_MTU,
  };
}

export type Mode = "auto" | "underlay" | "overlay" | "disable";

export interface CoordinatorConfig {
  /** `disabled` (the CR's spelling) and `disable` (the plugin's) both mean off (D2). */
  mode: Mode;
  tunePodRoutes: boolean;
  podDefaultRouteNic: string;
  podDefaultCniNic: string;
  /** Normalised `hh:hh`, or "" for off. */
  podMACPrefix: string;
  /** overlayPodCIDR ++ serviceCIDR ++ hijackCIDR, each as its network CIDR (§1.4 step 2). */
  hijack: { family: Family; cidr: string }[];
  policyRoutes: NormalRoute[];
  hostRuleTable: number;
  podRPFilter: number;
  txQueueLen: number;
  vethLinkAddress: string;
  vethMTU: number;
}

export const DEFAULT_HOST_RULE_TABLE = 500;
export const DEFAULT_VETH_MTU = 1500;
export const DEFAULT_CNI_NIC = "eth0";

function nonEmpty<T>(nad: readonly T[] | undefined, agent: readonly T[]): readonly T[] {
  return nad !== undefined && nad.length > 0 ? nad : agent;
}

export function resolveModeName(mode: string): Mode {
  switch (mode) {
    case "":
    case "auto":
      return "auto";
    case "underlay":
    case "overlay":
      return mode;
    case "disable":
    case "disabled":
      return "disable";
    default:
      throw new CoordinatorModeError(`unknown tuneMode: ${mode}`);
  }
}

export function mergeConfig(nad: CoordinatorNetConf, agent: AgentCoordinatorConfig): CoordinatorConfig {
  const prefix = nad.podMACPrefix ?? (agent.podMACPrefix !== "" ? parseMacPrefix(agent.podMACPrefix) : "");
  return {
    mode: resolveModeName(nad.mode !== undefined && nad.mode !== "" ? nad.mode : agent.mode),
    tunePodRoutes: nad.tunePodRoutes ?? agent.tunePodRoutes,
    podDefaultRouteNic:
      nad.podDefaultRouteNic !== undefined && nad.podDefaultRouteNic !== ""
        ? nad.podDefaultRouteNic
        : agent.podDefaultRouteNIC,
    podDefaultCniNic:
      nad.podDefaultCniNic !== undefined && nad.podDefaultCniNic !== "" ? nad.podDefaultCniNic : DEFAULT_CNI_NIC,
    podMACPrefix: prefix,
    hijack: hijackList([
      nonEmpty(nad.overlayPodCIDR, agent.overlayPodCIDR),
      nonEmpty(nad.serviceCIDR, agent.serviceCIDR),
      nonEmpty(nad.hijackCIDR, agent.hijackCIDR),
    ]),
    policyRoutes: parsePolicyRoutes(nonEmpty(nad.policyRoutes, agent.policyRoutes)),
    hostRuleTable:
      nad.hostRuleTable !== undefined && nad.hostRuleTable > 0
        ? nad.hostRuleTable
        : agent.hostRuleTable > 0
          ? agent.hostRuleTable
          : DEFAULT_HOST_RULE_TABLE,
    podRPFilter: checkRPFilter(nad.podRPFilter ?? agent.podRPFilter),
    txQueueLen: nad.txQueueLen ?? agent.txQueueLen,
    vethLinkAddress:
      nad.vethLinkAddress !== undefined && nad.vethLinkAddress !== "" ? nad.vethLinkAddress : agent.vethLinkAddress,
    vethMTU: nad.vethMTU ?? (agent.vethMTU > 0 ? agent.vethMTU : DEFAULT_VETH_MTU),
  };
}
