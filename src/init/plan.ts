/**
 * The objects spiderpool-init creates (node-networking §2.2, §6; spiderpool-api §6.4), pure:
 * the default SpiderCoordinator, the optional default SpiderSubnets and SpiderIPPools, and
 * the SpiderMultusConfig of the cluster's default CNI. Order matters: subnets before the
 * pools they own.
 */
import { SpiderCoordinatorKind } from "../api/coordinator.ts";
import { SpiderIPPoolKind } from "../api/ippool.ts";
import type { KindDefinition } from "../api/kind.ts";
import { SpiderMultusConfigKind, type CniType, type MultusCNIConfigSpec } from "../api/multusconfig.ts";
import { ANNO_SMC_CR_NAME } from "../api/annotations/index.ts";
import { SpiderSubnetKind } from "../api/subnet.ts";
import type { InitConfig } from "./config.ts";

export interface InitObject {
  kind: KindDefinition;
  object: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
  };
}

export interface CniConfFile {
  name: string;
  content: string;
}

const obj = (k: KindDefinition, metadata: InitObject["object"]["metadata"], spec: object): InitObject => ({
  kind: k,
  object: { apiVersion: `${k.group}/${k.version}`, kind: k.kind, metadata, spec: spec as Record<string, unknown> },
});

export function initObjects(cfg: InitConfig, defaultCni: CniConfFile | undefined): InitObject[] {
  const out: InitObject[] = [];
  const c = cfg.coordinator;
  if (c !== undefined)
    out.push(
      obj(
        SpiderCoordinatorKind,
        { name: c.name },
        {
          mode: c.mode,
          podCIDRType: c.podCIDRType,
          tunePodRoutes: c.tunePodRoutes,
          podDefaultRouteNIC: "",
          podMACPrefix: "",
          vethLinkAddress: c.vethLinkAddress,
          vethMTU: c.vethMTU,
          hijackCIDR: c.hijackCIDR,
          policyRoutes: c.policyRoutes,
        },
      ),
    );
  const range = (p: InitConfig["pools"][number]) => ({
    ipVersion: p.family,
    subnet: p.subnet,
    ips: p.ips,
    ...(p.gateway !== "" ? { gateway: p.gateway } : {}),
  });
  for (const p of cfg.pools) if (p.subnetName !== "") out.push(obj(SpiderSubnetKind, { name: p.subnetName }, range(p)));
  for (const p of cfg.pools)
    if (p.poolName !== "") out.push(obj(SpiderIPPoolKind, { name: p.poolName }, { ...range(p), default: true }));
  if (cfg.multus !== undefined) out.push(defaultCniSmc(cfg.multus, defaultCni));
  return out;
}

/** The types an SMC can describe from a CNI file alone; others become `custom`. */
const KEPT: readonly CniType[] = ["macvlan", "ipvlan", "ipoib"];

/**
 * The file the default CNI's SMC is named after: the first `.conf`/`.conflist` by name, not
 * Multus's own, as upstream. With the chart's Multus (`installMultus`) the agents' sidecar
 * takes Multus's clusterNetwork from the first `.conf`/`.conflist`/`.json`, and, unlike
 * upstream's ConfigMap, it cannot be patched afterwards: so init picks by the sidecar's rule.
 */
export function defaultCniFile(names: readonly string[], installMultus: boolean): string | undefined {
  const exts = installMultus ? [".conf", ".conflist", ".json"] : [".conf", ".conflist"];
  return names.filter((n) => exts.some((x) => n.endsWith(x)) && !n.includes("00-multus")).sort()[0];
}

/**
 * The SMC of the cluster's default CNI. A custom one (the usual case: Calico, Cilium,
 * Flannel) has no `customCNI`, so its NAD has no config and Multus reads the same-named file.
 * Upstream also keeps sriov and ib-sriov, whose SMC the webhook then refuses for want of a
 * resourceName; those, and a macvlan/ipvlan/ipoib file without a master, stay custom here.
 */
export function defaultCniSmc(m: NonNullable<InitConfig["multus"]>, file: CniConfFile | undefined): InitObject {
  const smc = (name: string, spec: MultusCNIConfigSpec, annotations?: Record<string, string>) =>
    obj(
      SpiderMultusConfigKind,
      { name, namespace: m.namespace, ...(annotations ? { annotations } : {}) },
      { ...spec, enableCoordinator: false },
    );
  if (m.defaultCniName !== undefined) return smc(m.defaultCniName, { cniType: "custom" });
  if (file === undefined) return smc("default", { cniType: "custom" });
  let conf: { name?: unknown; type?: unknown; master?: unknown; plugins?: { type?: unknown; master?: unknown }[] };
  try {
    conf = JSON.parse(file.content) as typeof conf;
  } catch {
    return smc("default", { cniType: "custom" });
  }
  const name = typeof conf.name === "string" && conf.name !== "" ? conf.name : "default";
  if (name === "k8s-pod-network") return smc("calico", { cniType: "custom" }, { [ANNO_SMC_CR_NAME]: name });
  const main = Array.isArray(conf.plugins) ? conf.plugins[0] : conf;
  const type = KEPT.find((t) => t === main?.type);
  const master = typeof main?.master === "string" && main.master !== "" ? main.master : undefined;
  if (type === undefined || master === undefined) return smc(name, { cniType: "custom" });
  if (type === "ipoib") return smc(name, { cniType: "ipoib", ipoib: { master } });
  return smc(name, { cniType: type, [type]: { master: [master] } });
}
