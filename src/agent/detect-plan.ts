/**
 * Which probes an IPAM ADD runs (spec §1.12), decided without I/O: the agent's two switches,
 * the addresses allocated, the interface the runtime asked for and whether the pod is a
 * KubeVirt live-migration target. detect-flow.ts runs what this decides.
 */
import { ANNO_KUBEVIRT_MIGRATION_JOB } from "../api/annotations/keys.ts";
import type { ObjectMeta } from "../api/meta.ts";
import type { IpConfig } from "../ipam/result.ts";
import { controllerOf } from "../ipam/pod.ts";

export interface DetectSwitches {
  /** conf.yml `enableIPConflictDetection`. */
  ipConflict: boolean;
  /** conf.yml `enableGatewayDetection`. */
  gateway: boolean;
}

/** The checks of one address, in the order they run: conflict first, then the gateway. */
export interface AddressChecks {
  family: 4 | 6;
  /** Bare address. */
  ip: string;
  conflict: boolean;
  /** The gateway to probe, when gateway detection applies to this address. */
  gateway?: string;
}

export interface DetectionPlan {
  checks: AddressChecks[];
  /** Bare addresses to announce once every check passed: all of this interface's. */
  announce: string[];
}

/**
 * Only the addresses of `ifName` (a multi-NIC answer also lists the other NICs', which their
 * own ADDs probe); conflict detection is off for a live-migration target, whose source pod
 * still holds the address; gateway detection needs a gateway. Undefined when nothing is probed:
 * the ADD then neither touches the pod's interface nor announces.
 */
export function planDetection(
  ifName: string,
  ips: readonly IpConfig[],
  on: DetectSwitches,
  migrationTarget: boolean,
): DetectionPlan | undefined {
  const mine = ips.filter((i) => i.nic === ifName);
  const checks: AddressChecks[] = [];
  for (const i of mine) {
    const conflict = on.ipConflict && !migrationTarget;
    const gateway = on.gateway && i.gateway !== undefined && i.gateway !== "" ? i.gateway : undefined;
    if (!conflict && gateway === undefined) continue;
    checks.push({ family: i.family, ip: bare(i.address), conflict, ...(gateway !== undefined ? { gateway } : {}) });
  }
  if (checks.length === 0) return undefined;
  return { checks, announce: mine.map((i) => bare(i.address)) };
}

/**
 * The VirtualMachineInstanceMigration whose existence makes this pod a live-migration target:
 * named by `kubevirt.io/migrationJobName` on a pod a VirtualMachineInstance controls.
 */
export function migrationJobOf(meta: ObjectMeta): string | undefined {
  const job = meta.annotations?.[ANNO_KUBEVIRT_MIGRATION_JOB];
  if (job === undefined || job === "") return undefined;
  const owner = controllerOf(meta);
  if (owner?.kind !== "VirtualMachineInstance" || !owner.apiVersion.startsWith("kubevirt.io/")) return undefined;
  return job;
}

function bare(address: string): string {
  const slash = address.indexOf("/");
  return slash < 0 ? address : address.slice(0, slash);
}
