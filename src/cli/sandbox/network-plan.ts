/**
 * What Multus decides for a pod, as a pure function: the cluster default network on eth0,
 * then each network of `k8s.v1.cni.cncf.io/networks` from its NetworkAttachmentDefinition,
 * on the interface the annotation names or net1, net2… in order. And the
 * `k8s.v1.cni.cncf.io/network-status` annotation Multus writes from the results.
 */
import { parseMultusNetworks } from "../../api/annotations/multus.ts";
import { ANNO_MULTUS_NETWORKS } from "../../api/annotations/keys.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { NetworkNotFoundError } from "./errors.ts";

/** A CNI configuration list (a single-plugin config is read as a list of one). */
export interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown>>;
}

export interface Attachment {
  /** `namespace/name` of the NAD, or the default network's name. */
  network: string;
  ifName: string;
  isDefault: boolean;
  conf: NetConfList;
}

export interface PodNetworks {
  metadata?: { namespace?: string; annotations?: Record<string, string> };
}

/** Reads a NAD's `spec.config` (a conflist or a single plugin's config) as a list. */
export function confListOf(config: string, fallbackName: string): NetConfList {
  const c = JSON.parse(config) as Record<string, unknown>;
  const cniVersion = typeof c["cniVersion"] === "string" ? c["cniVersion"] : "0.3.1";
  const name = typeof c["name"] === "string" ? c["name"] : fallbackName;
  if (Array.isArray(c["plugins"])) return { cniVersion, name, plugins: c["plugins"] as Array<Record<string, unknown>> };
  const { cniVersion: _v, name: _n, ...plugin } = c;
  return { cniVersion, name, plugins: [plugin] };
}

export function planAttachments(
  pod: PodNetworks,
  defaultNetwork: NetConfList,
  nad: (namespace: string, name: string) => NetworkAttachmentDefinition | undefined,
): Attachment[] {
  const podNs = pod.metadata?.namespace ?? "default";
  const out: Attachment[] = [{ network: defaultNetwork.name, ifName: "eth0", isDefault: true, conf: defaultNetwork }];
  const value = pod.metadata?.annotations?.[ANNO_MULTUS_NETWORKS];
  if (value === undefined) return out;
  parseMultusNetworks(value, podNs).forEach((sel, i) => {
    const key = `${sel.namespace}/${sel.name}`;
    const found = nad(sel.namespace, sel.name);
    if (found === undefined)
      throw new NetworkNotFoundError(
        `cannot find a network-attachment-definition (${sel.name}) in namespace (${sel.namespace})`,
      );
    const config = found.spec?.config;
    if (config === undefined || config.trim() === "")
      throw new NetworkNotFoundError(
        `network-attachment-definition ${key} has no spec.config (Multus would read a file; the sandbox has none)`,
      );
    out.push({
      network: key,
      ifName: sel.interface ?? `net${i + 1}`,
      isDefault: false,
      conf: confListOf(config, sel.name),
    });
  });
  return out;
}

/** One attachment's outcome, from its chain's final CNI result. */
export interface AttachmentResult {
  attachment: Attachment;
  ips: string[];
  mac?: string;
  dns?: unknown;
}

/** The `k8s.v1.cni.cncf.io/network-status` value, as Multus writes it (a JSON list). */
export function networkStatus(results: readonly AttachmentResult[]): string {
  return JSON.stringify(
    results.map((r) => ({
      name: r.attachment.network,
      interface: r.attachment.ifName,
      ips: r.ips.map((a) => a.split("/")[0]),
      ...(r.mac !== undefined ? { mac: r.mac } : {}),
      ...(r.attachment.isDefault ? { default: true } : {}),
      dns: r.dns ?? {},
    })),
    null,
    4,
  );
}
