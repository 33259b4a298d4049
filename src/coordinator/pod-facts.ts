/**
 * What §1.4 steps 4, 7, 8 and 10 read from the observed state: the pod's IP families, its
 * addresses, and the node addresses a pod must reach through the node (`hostIPRouteForPod`).
 */
import type { Address, Family, NetnsState } from "../host/model.ts";
import { parseIP } from "../ip/index.ts";
import { CoordinatorStateError } from "./errors.ts";

export interface PodAddress {
  family: Family;
  address: string;
}

export interface PodFacts {
  families: Family[];
  /** Every pod address outside `lo` of the pod's families (what the node routes back, step 7). */
  allPodIPs: PodAddress[];
  /** `ifName`'s own addresses (step 10), kernel order (IPv4 first). */
  current: PodAddress[];
}

/** Neither link-local nor multicast: an address other hosts can route to. */
export function isRoutable(family: Family, address: string): boolean {
  const v = parseIP(address).value;
  if (family === 4) return v >> 16n !== 0xa9fen && v >> 28n !== 0xen;
  return v >> 118n !== 0x3fan && v >> 120n !== 0xffn;
}

function byKernelOrder(a: Address, b: Address): number {
  return a.family - b.family;
}

export function podFacts(pod: NetnsState, ifName: string): PodFacts {
  const link = pod.links.find((l) => l.name === ifName);
  if (link === undefined)
    throw new CoordinatorStateError(`failed to IPAddressByName for pod ${ifName} : Link not found`);
  const own = pod.addresses
    .filter((a) => a.linkIndex === link.index && isRoutable(a.family, a.address))
    .sort(byKernelOrder);
  const families = [...new Set(own.map((a) => a.family))].sort() as Family[];
  if (families.length === 0) throw new CoordinatorStateError(`no usable IP addresses on ${JSON.stringify(ifName)}`);
  const loopbacks = new Set(pod.links.filter((l) => l.flags.loopback || l.name === "lo").map((l) => l.index));
  const allPodIPs = pod.addresses
    .filter((a) => !loopbacks.has(a.linkIndex) && families.includes(a.family) && isRoutable(a.family, a.address))
    .map((a) => ({ family: a.family, address: a.address }));
  return { families, allPodIPs, current: own.map((a) => ({ family: a.family, address: a.address })) };
}

/** Node links whose addresses a pod must not be steered to (container bridges, tunnels, other pods' veths). */
const SKIPPED_HOST_LINKS =
  /^docker.*|^cbr.*|^dummy.*|^virbr.*|^lxcbr.*|^veth.*|^lo$|^cali.*|^flannel.*|^kube-ipvs.*|^cni.*|^vx-submariner|^cilium*/;

/**
 * Step 8: the node's source address towards each pod IP (from `ip route get`, in order),
 * then every other node address of the pod's families, without duplicates.
 */
export function hostIPsForPod(
  host: NetnsState,
  families: readonly Family[],
  routeSources: readonly (string | undefined)[],
): PodAddress[] {
  const out: PodAddress[] = [];
  const seen = new Set<string>();
  const push = (family: Family, address: string): void => {
    if (!families.includes(family) || seen.has(address)) return;
    seen.add(address);
    out.push({ family, address });
  };
  for (const src of routeSources) {
    if (src !== undefined && src !== "") push(src.includes(":") ? 6 : 4, src);
  }
  const names = new Map(host.links.map((l) => [l.index, l.name]));
  for (const a of host.addresses) {
    const name = names.get(a.linkIndex);
    if (name === undefined || SKIPPED_HOST_LINKS.test(name) || !isRoutable(a.family, a.address)) continue;
    push(a.family, a.address);
  }
  return out;
}
