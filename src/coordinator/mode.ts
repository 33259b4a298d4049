/**
 * §1.3: which mode an invocation runs in, whether it is the pod's first coordinator call,
 * and the policy-routing table of the interface, all read from the pod's links.
 */
import type { NetnsState } from "../host/model.ts";
import type { Mode } from "./config.ts";
import { CoordinatorModeError } from "./errors.ts";

export const VETH0 = "veth0";
/** Underlay's fwmark reply table, overlay's eth0 reply table. */
export const TABLE_REPLY = 100;
export const TABLE_FIRST = 101;
/** Overlay's pod-side veth is always this name, whatever podDefaultCniNic says. */
export const OVERLAY_VETH = "eth0";

export interface ModeDecision {
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  table: number;
  /** The pod end of the pod–node veth: `veth0` (underlay) or `eth0` (overlay). */
  podVeth: string;
}

/** Links that count for table numbers: UP, BROADCAST and MULTICAST; `ifName` counts as up (§1.4 step 5 came first). */
export function countedLinks(pod: NetnsState, ifName: string): string[] {
  return pod.links
    .filter((l) => (l.flags.up || l.name === ifName) && l.flags.broadcast && l.flags.multicast)
    .map((l) => l.name);
}

export function resolveMode(
  mode: Exclude<Mode, "disable">,
  ifName: string,
  firstNic: string,
  pod: NetnsState,
): ModeDecision {
  const vethExists = pod.links.some((l) => l.name === VETH0);
  const n = countedLinks(pod, ifName).length;
  const resolved = mode !== "auto" ? mode : ifName === firstNic || vethExists ? "underlay" : "overlay";
  if (resolved === "underlay") {
    const firstInvoke = ifName === firstNic;
    if (!firstInvoke && !vethExists) {
      throw new CoordinatorModeError(
        `when creating interface ${ifName} in underlay mode, it detects that the auxiliary interface ${VETH0} was not created by previous interface. please enable coordinator plugin in previous interface`,
      );
    }
    return { mode: "underlay", firstInvoke, table: firstInvoke ? TABLE_FIRST : n + 98, podVeth: VETH0 };
  }
  if (ifName === firstNic) {
    throw new CoordinatorModeError(
      `when creating interface ${ifName} in overlay mode, it detects that the current interface is first interface named ${firstNic}, this plugin should not work for it. please modify in the CNI configuration`,
    );
  }
  if (vethExists) {
    throw new CoordinatorModeError(
      `when creating interface ${ifName} in overlay mode, it detects that the auxiliary interface ${VETH0} of underlay mode exists. It seems that the previous interface work in underlay mode. `,
    );
  }
  const firstInvoke = n === 2;
  return { mode: "overlay", firstInvoke, table: firstInvoke ? TABLE_FIRST : 99 + n, podVeth: OVERLAY_VETH };
}
