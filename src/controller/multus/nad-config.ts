/**
 * The NetworkAttachmentDefinition a SpiderMultusConfig stands for (node-networking §3.4,
 * §3.5): its name, annotations and `spec.config`, with upstream's plugin order and key
 * order so the text is byte-identical to what the Go controller writes. Pure; it expects
 * an SMC the webhook has defaulted (a pointer field upstream emits once set, such as
 * `mtu: 0`, is emitted here exactly when it is present).
 */
import {
  ANNO_MULTUS_RESOURCE_NAME,
  ANNO_SMC_CNI_CONFIG_NAME,
  ANNO_SMC_CNI_VERSION,
  ANNO_SMC_CR_NAME,
  ovsResource,
} from "../../api/annotations/index.ts";
import type { CoordinatorSpec } from "../../api/coordinator.ts";
import type { BondConfig, MultusCNIConfigSpec, SpiderMultusConfig, SpiderpoolPools } from "../../api/multusconfig.ts";
import { SpiderpoolError } from "../../errors/base.ts";
import { asGoValue, GoMap, goJson } from "./go-json.ts";

export const DEFAULT_CNI_VERSION = "0.3.1";

/** The SMC cannot be turned into a NAD (a chain entry that is not JSON, a missing block). */
export class NadConfigError extends SpiderpoolError {
  readonly code = "ERR_NAD_CONFIG";
}

export interface DesiredNad {
  namespace: string;
  name: string;
  /** All of the SMC's annotations, plus the device-plugin resource name when there is one. */
  annotations: Record<string, string>;
  /** Absent for a custom SMC without `customCNI`: Multus then reads the same-named file. */
  config: string | undefined;
}

type Obj = Record<string, unknown>;
/** Sets `k` only when `v` is present: upstream's `omitempty` on a pointer field. */
const opt = (o: Obj, k: string, v: unknown): void => {
  if (v !== undefined) o[k] = v;
};
/** Sets `k` only when `v` is non-empty: upstream's `omitempty` on a string or slice. */
const nonEmpty = (o: Obj, k: string, v: string | readonly unknown[] | undefined): void => {
  if (v !== undefined && v.length > 0) o[k] = v;
};

export function nadName(smc: SpiderMultusConfig): string {
  return smc.metadata.annotations?.[ANNO_SMC_CR_NAME] ?? smc.metadata.name ?? "";
}

export function desiredNad(smc: SpiderMultusConfig): DesiredNad {
  const s = smc.spec ?? {};
  const annos = smc.metadata.annotations ?? {};
  const name = nadName(smc);
  const annotations = { ...annos };
  const resource = resourceName(s);
  if (resource !== undefined) annotations[ANNO_MULTUS_RESOURCE_NAME] = resource;
  const base = { namespace: smc.metadata.namespace ?? "", name, annotations };
  if ((s.cniType ?? "custom") === "custom") {
    const custom = s.customCNI ?? "";
    return { ...base, config: custom === "" ? undefined : custom };
  }
  const plugins = pluginList(s);
  // The top level is a Go map: cniVersion, name, plugins in sorted order.
  const top = new GoMap({
    cniVersion: annos[ANNO_SMC_CNI_VERSION] ?? DEFAULT_CNI_VERSION,
    name: annos[ANNO_SMC_CNI_CONFIG_NAME] ?? name,
    plugins,
  });
  return { ...base, config: goJson(top) };
}

function resourceName(s: MultusCNIConfigSpec): string | undefined {
  const pick = (r: string | undefined) => (r === undefined || r === "" ? undefined : r);
  switch (s.cniType) {
    case "sriov":
      return pick(s.sriov?.resourceName);
    case "ib-sriov":
      return pick(s.ibsriov?.resourceName);
    case "ovs":
      return (s.ovs?.deviceID ?? "") !== "" ? ovsResource(s.ovs?.bridge ?? "") : undefined;
    default:
      return undefined;
  }
}

function pluginList(s: MultusCNIConfigSpec): unknown[] {
  const chain = (s.chainCNIJsonData ?? []).map((text) => {
    try {
      return asGoValue(JSON.parse(text));
    } catch (err) {
      throw new NadConfigError(`failed to unmarshal chain cni config ${text}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
  const coordinator = s.enableCoordinator === true ? [coordinatorConf(s.coordinator)] : [];
  const ipam = s.disableIPAM === true ? undefined : ipamConf;
  const missing = (block: string): never => {
    throw new NadConfigError(`no spec.${block} specified for cniType ${s.cniType ?? ""}`);
  };
  switch (s.cniType) {
    case "macvlan":
    case "ipvlan": {
      const c = s[s.cniType] ?? missing(s.cniType);
      const vlan = c.vlanID ?? 0;
      const master = mainMaster(c.master, c.bond) + (vlan !== 0 ? `.${vlan}` : "");
      const main: Obj = { type: s.cniType, master };
      if (s.cniType === "macvlan") main["mode"] = "bridge";
      opt(main, "mtu", c.mtu);
      opt(main, "ipam", ipam?.(c.ippools, false));
      const ifacer = vlan !== 0 || c.master.length >= 2 ? [ifacerConf(c.master, vlan, c.bond)] : [];
      return [...ifacer, main, ...chain, ...coordinator];
    }
    case "vlan": {
      const c = s.vlan ?? missing("vlan");
      const main: Obj = { type: "vlan", master: mainMaster(c.master, c.bond) };
      opt(main, "vlanMode", c.vlanMode);
      if (c.vlanMode !== "auto") opt(main, "vlanId", c.vlanID);
      opt(main, "mtu", c.mtu);
      opt(main, "ipam", ipam?.(c.ippools, false));
      const ifacer = c.master.length >= 2 ? [ifacerConf(c.master, 0, c.bond)] : [];
      return [...ifacer, main, ...chain, ...coordinator];
    }
    case "sriov": {
      const c = s.sriov ?? missing("sriov");
      const main: Obj = {};
      opt(main, "vlan", c.vlanID);
      opt(main, "min_tx_rate", c.minTxRateMbps);
      opt(main, "max_tx_rate", c.maxTxRateMbps);
      main["type"] = "sriov";
      opt(main, "ipam", ipam?.(c.ippools, true));
      const rdma = c.rdmaIsolation === true ? [{ type: "rdma" }] : [];
      const mtu = c.mtu ?? 0;
      const tuning = mtu > 0 ? [{ type: "tuning", mtu }] : [];
      return [main, ...rdma, ...chain, ...coordinator, ...tuning];
    }
    case "ib-sriov": {
      const c = s.ibsriov ?? missing("ibsriov");
      const main: Obj = { type: "ib-sriov" };
      opt(main, "pkey", c.pkey);
      opt(main, "link_state", c.linkState);
      opt(main, "rdmaIsolation", c.rdmaIsolation);
      opt(main, "ibKubernetesEnabled", c.enableIbKubernetes);
      opt(main, "ipam", ipam?.(c.ippools, false));
      return [main, ...chain, ...coordinator];
    }
    case "ipoib": {
      const c = s.ipoib ?? missing("ipoib");
      const main: Obj = { type: "ipoib" };
      nonEmpty(main, "master", c.master);
      opt(main, "ipam", ipam?.(c.ippools, false));
      return [main, ...chain, ...coordinator];
    }
    case "ovs": {
      const c = s.ovs ?? missing("ovs");
      const main: Obj = {};
      opt(main, "vlan", c.vlan);
      main["type"] = "ovs";
      main["bridge"] = c.bridge;
      nonEmpty(main, "deviceID", c.deviceID);
      opt(main, "ipam", ipam?.(c.ippools, false));
      if ((c.trunk ?? []).length > 0)
        main["trunk"] = (c.trunk ?? []).map((t) => {
          const o: Obj = {};
          opt(o, "minID", t.minID);
          opt(o, "maxID", t.maxID);
          opt(o, "id", t.id);
          return o;
        });
      return [main, ...chain, ...coordinator];
    }
    default:
      throw new NadConfigError(`unsupported cniType ${String(s.cniType)}`);
  }
}

function mainMaster(masters: readonly string[], bond: BondConfig | undefined): string {
  return masters.length === 1 ? (masters[0] as string) : (bond?.name ?? "");
}

function ifacerConf(masters: readonly string[], vlanID: number, bond: BondConfig | undefined): Obj {
  const o: Obj = {};
  if (vlanID !== 0) o["vlanID"] = vlanID;
  o["type"] = "ifacer";
  o["interfaces"] = [...masters];
  if (bond !== undefined && masters.length >= 2) {
    const b: Obj = { name: bond.name, mode: bond.mode };
    opt(b, "options", bond.options);
    o["bond"] = b;
  }
  return o;
}

function ipamConf(pools: SpiderpoolPools | undefined, sriov: boolean): Obj {
  const o: Obj = { type: "spiderpool" };
  nonEmpty(o, "default_ipv4_ippool", pools?.ipv4);
  nonEmpty(o, "default_ipv6_ippool", pools?.ipv6);
  if (sriov && pools?.matchMasterSubnet === true) o["match_master_subnet"] = true;
  return o;
}

/**
 * The coordinator entry with the SMC's materialised defaults (node-networking D7). Never
 * `hostRuleTable`, `podCIDRType`, the discovered CIDRs: those come from the SpiderCoordinator.
 * `podRPFilter` (Q2): upstream emits it only when `podCIDRType` is set, dropping a value the
 * user chose; here it is also emitted whenever it differs from the default 0.
 */
export function coordinatorConf(c: CoordinatorSpec | undefined): Obj {
  const s = c ?? {};
  const o: Obj = {};
  opt(o, "txQueueLen", s.txQueueLen);
  nonEmpty(o, "vethLinkAddress", s.vethLinkAddress);
  opt(o, "vethMTU", s.vethMTU);
  opt(o, "tunePodRoutes", s.tunePodRoutes);
  nonEmpty(o, "podMACPrefix", s.podMACPrefix);
  nonEmpty(o, "mode", s.mode);
  o["type"] = "coordinator";
  nonEmpty(o, "podDefaultRouteNic", s.podDefaultRouteNIC);
  if (s.podRPFilter !== undefined && (s.podCIDRType !== undefined || s.podRPFilter !== 0))
    o["podRPFilter"] = s.podRPFilter;
  nonEmpty(o, "hijackCIDR", s.hijackCIDR);
  if ((s.policyRoutes ?? []).length > 0)
    o["policyRoutes"] = (s.policyRoutes ?? []).map((r) => ({ dst: r.dst, gw: r.gw }));
  return o;
}
