/**
 * SpiderMultusConfig admission (spec §2.4): per-type defaults, the coordinator filled for
 * every type but custom, resource-inject annotations copied to labels; then the
 * validation rules in the spec's order. Pure: the caller looks up the target NAD.
 */
import {
  ANNO_NETWORK_RESOURCE_INJECT,
  ANNO_RDMA_RESOURCE_INJECT,
  ANNO_SMC_CNI_VERSION,
  ANNO_SMC_CR_NAME,
} from "../../api/annotations/index.ts";
import type { ObjectMeta } from "../../api/meta.ts";
import type { CniType, MultusCNIConfigSpec, SpiderMultusConfig, SpiderpoolPools } from "../../api/multusconfig.ts";
import { ownedByOtherMessage } from "../multus/plan.ts";
import { validateCoordinatorSpec } from "./coordinator.ts";
import { forbidden, invalid, required, type Verdict } from "./verdict.ts";

type Spec = MultusCNIConfigSpec;
const SUB_CONFIGS = ["macvlan", "ipvlan", "vlan", "sriov", "ovs", "ibsriov", "ipoib"] as const;
type SubKey = (typeof SUB_CONFIGS)[number];
const SUB_OF: Record<CniType, SubKey | undefined> = {
  macvlan: "macvlan",
  ipvlan: "ipvlan",
  vlan: "vlan",
  sriov: "sriov",
  ovs: "ovs",
  "ib-sriov": "ibsriov",
  ipoib: "ipoib",
  custom: undefined,
};
const pools = (p: SpiderpoolPools | undefined): SpiderpoolPools => ({ ipv4: [], ipv6: [], ...p });

export function mutateMultusConfig(input: SpiderMultusConfig): SpiderMultusConfig {
  const m = structuredClone(input);
  const s: Spec = (m.spec ??= {});
  s.cniType ??= "custom";
  if (s.macvlan)
    s.macvlan = { vlanID: 0, mtu: 0, rdmaResourceName: "", ...s.macvlan, ippools: pools(s.macvlan.ippools) };
  if (s.ipvlan) s.ipvlan = { vlanID: 0, mtu: 0, rdmaResourceName: "", ...s.ipvlan, ippools: pools(s.ipvlan.ippools) };
  for (const k of ["macvlan", "ipvlan", "vlan"] as const) {
    const b = s[k]?.bond;
    if (b !== undefined) b.options ??= "";
  }
  if (s.vlan) {
    s.vlan = { rdmaResourceName: "", mtu: 0, ...s.vlan, ippools: pools(s.vlan.ippools) };
    s.vlan.vlanMode ??= "manual";
    if (s.vlan.vlanMode === "manual") s.vlan.vlanID ??= 0;
  }
  if (s.sriov)
    s.sriov = {
      vlanID: 0,
      mtu: 0,
      minTxRateMbps: 0,
      maxTxRateMbps: 0,
      rdmaIsolation: false,
      resourceName: "",
      ...s.sriov,
      ippools: { matchMasterSubnet: false, ...pools(s.sriov.ippools) },
    };
  if (s.ibsriov)
    s.ibsriov = {
      pkey: "",
      enableIbKubernetes: false,
      rdmaIsolation: true,
      resourceName: "",
      linkState: "enable",
      ...s.ibsriov,
      ippools: pools(s.ibsriov.ippools),
    };
  if (s.ipoib) s.ipoib = { ...s.ipoib, ippools: pools(s.ipoib.ippools) };
  if (s.ovs) s.ovs = { vlan: 0, ...s.ovs, ippools: pools(s.ovs.ippools) };
  if (s.cniType === "custom") {
    s.customCNI ??= "";
    delete s.coordinator;
    s.enableCoordinator = false;
  } else if (s.coordinator === undefined) {
    s.coordinator = {
      mode: "auto",
      hijackCIDR: [],
      policyRoutes: [],
      vethLinkAddress: "",
      podMACPrefix: "",
      podDefaultRouteNIC: "",
      podRPFilter: 0,
      tunePodRoutes: true,
    };
  } else {
    // Upstream fills an explicit coordinator with tunePodRoutes=false, unlike the nil case.
    s.coordinator = {
      mode: "auto",
      hijackCIDR: [],
      policyRoutes: [],
      podMACPrefix: "",
      podDefaultRouteNIC: "",
      tunePodRoutes: false,
      txQueueLen: 0,
      podRPFilter: 0,
      ...s.coordinator,
    };
  }
  s.chainCNIJsonData ??= [];
  const annos = m.metadata.annotations ?? {};
  for (const k of [ANNO_RDMA_RESOURCE_INJECT, ANNO_NETWORK_RESOURCE_INJECT]) {
    const v = annos[k];
    if (v !== undefined) m.metadata.labels = { ...m.metadata.labels, [k]: v };
  }
  return m;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CNI_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

export interface MultusConfigAdmission {
  operation: "CREATE" | "UPDATE";
  object: SpiderMultusConfig;
  oldObject?: SpiderMultusConfig;
  /** The NAD this config writes (cr-name or its own name, same namespace), when it exists. */
  existingNad?: { metadata: ObjectMeta };
}

function poolCount(p: SpiderpoolPools | undefined): number {
  return (p?.ipv4?.length ?? 0) + (p?.ipv6?.length ?? 0);
}

export function validateMultusConfig(a: MultusConfigAdmission): Verdict | undefined {
  const m = a.object;
  const name = m.metadata.name ?? "";
  const annos = m.metadata.annotations ?? {};
  const crName = annos[ANNO_SMC_CR_NAME];
  if (a.operation === "UPDATE") {
    const old = a.oldObject?.metadata.annotations?.[ANNO_SMC_CR_NAME];
    // Removing the annotation is allowed, as upstream: the NAD keeps the SMC's name.
    if (old !== undefined && crName !== undefined && crName !== old)
      return invalid(
        "metadata.annotations",
        crName,
        `it's unsupported to change customized Multus net-attach-def resource name from '${old}' to '${crName}'`,
      );
    if (old === undefined && crName !== undefined)
      return invalid(
        "metadata.annotations",
        crName,
        `it's unsupported to changed Multus net-attach-def '${name}' to customized name '${crName}'`,
      );
  }
  if (crName !== undefined && (crName.length > 253 || !DNS1123_SUBDOMAIN.test(crName)))
    return invalid(
      "metadata.annotations",
      crName,
      `invalid custom net-attach-def resource name, err: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  const owner = a.existingNad?.metadata.ownerReferences?.find((o) => o.kind === "SpiderMultusConfig");
  if (owner !== undefined && owner.name !== name)
    return invalid(
      "metadata.name",
      crName ?? name,
      ownedByOtherMessage(m.metadata.namespace ?? "", crName ?? name, owner.name),
    );
  const ver = annos[ANNO_SMC_CNI_VERSION];
  if (ver !== undefined && !CNI_VERSIONS.includes(ver))
    return invalid("metadata.annotations", ver, `unsupported CNI version ${ver}`);
  const s = m.spec ?? {};
  const t = s.cniType;
  if (t === undefined) return invalid("spec.cniType", null, "cniType must be set");
  const injRdma = annos[ANNO_RDMA_RESOURCE_INJECT] !== undefined;
  const injNet = annos[ANNO_NETWORK_RESOURCE_INJECT] !== undefined;
  const mine = SUB_OF[t];
  const others = SUB_CONFIGS.filter((k) => k !== mine && s[k] !== undefined);
  const exclusive = (): Verdict | undefined =>
    others.length > 0 || (t !== "custom" && s.customCNI !== undefined && s.customCNI !== "")
      ? forbidden("spec.cniType", `only the ${t} configuration may be set for cniType ${t}`)
      : undefined;
  const v = checkType(t, s, injRdma, injNet, `${m.metadata.namespace ?? ""}/${name}`) ?? exclusive();
  if (v !== undefined) return v;
  if (s.coordinator !== undefined) {
    const c = validateCoordinatorSpec(s.coordinator, false, "spec.coordinator");
    if (c !== undefined) return c;
  }
  for (const j of s.chainCNIJsonData ?? []) {
    let problem: string | undefined;
    try {
      const parsed = JSON.parse(j) as { type?: unknown };
      if (typeof parsed !== "object" || parsed === null || typeof parsed.type !== "string" || parsed.type === "")
        problem = "missing 'type'";
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem !== undefined)
      return forbidden("spec.chainCNIJsonData", `invalid ${j}: error parsing configuration: ${problem}`);
  }
  return undefined;
}

function vlanRange(field: string, v: number | undefined): Verdict | undefined {
  return v !== undefined && (v < 0 || v > 4094) ? invalid(field, v, "must be within 0..4094") : undefined;
}

const BLOCK_TEXT: Record<SubKey, string> = {
  macvlan: "spec.macvlanConfig",
  ipvlan: "spec.ipvlanConfig",
  vlan: "spec.vlan",
  sriov: "spec.sriovConfig",
  ibsriov: "spec.ibsriovConfig",
  ipoib: "spec.ipoibConfig",
  ovs: "spec.ovsConfig",
};

function checkType(t: CniType, s: Spec, injRdma: boolean, injNet: boolean, id: string): Verdict | undefined {
  const need = (k: SubKey) => required(`spec.${k}`, `no ${BLOCK_TEXT[k]} specified`);
  const noPools = (k: SubKey) =>
    forbidden(`spec.${k}.ippools`, `no any ippools configured for spidermultusconfig ${id}`);
  const noInject = () =>
    forbidden("metadata.annotations", `the cniType ${t} does not support RDMA resource or network resource injected`);
  switch (t) {
    case "macvlan":
    case "ipvlan":
    case "vlan": {
      const c = s[t];
      if (c === undefined) return need(t);
      if (t === "vlan") {
        const mode = s.vlan?.vlanMode;
        if (mode === undefined) return required("spec.vlan.vlanMode", "vlanMode must be manual or auto");
        if (mode === "manual" && s.vlan?.vlanID === undefined)
          return required("spec.vlan.vlanID", "vlanID is required in manual mode");
        if (mode === "auto" && s.vlan?.vlanID !== undefined)
          return forbidden("spec.vlan.vlanID", "vlanID must not be set in auto mode");
      }
      const r = vlanRange(`spec.${t}.vlanID`, c.vlanID);
      if (r !== undefined) return r;
      if (c.mtu !== undefined && c.mtu < 0) return invalid(`spec.${t}.mtu`, c.mtu, "must not be negative");
      if (c.ippools?.matchMasterSubnet === true)
        return forbidden(`spec.${t}.ippools.matchMasterSubnet`, `not supported for cniType ${t}`);
      if ((c.master ?? []).length === 0 || (c.master ?? []).some((x) => x === ""))
        return required(`spec.${t}.master`, "master can't be empty");
      if ((c.master ?? []).length >= 2 && c.bond === undefined)
        return required(`spec.${t}.bond`, "the bond property is nil with multiple Interfaces");
      if ((c.master ?? []).length >= 2 && c.bond?.name === "")
        return required(`spec.${t}.bond`, "bond name can't be empty");
      if (injRdma && ((c.rdmaResourceName ?? "") === "" || poolCount(c.ippools) === 0))
        return (c.rdmaResourceName ?? "") === ""
          ? required(`spec.${t}.rdmaResourceName`, `rdmaResourceName can not empty for spidermultusconfig ${id}`)
          : noPools(t);
      if (injNet && (c.rdmaResourceName ?? "") !== "" && poolCount(c.ippools) === 0) return noPools(t);
      return undefined;
    }
    case "sriov": {
      const c = s.sriov;
      if (c === undefined) return need("sriov");
      const r = vlanRange("spec.sriov.vlanID", c.vlanID);
      if (r !== undefined) return r;
      if (c.mtu !== undefined && c.mtu < 0) return invalid("spec.sriov.mtu", c.mtu, "must not be negative");
      if (
        c.minTxRateMbps !== undefined &&
        c.maxTxRateMbps !== undefined &&
        c.maxTxRateMbps > 0 &&
        c.minTxRateMbps > c.maxTxRateMbps
      )
        return invalid("spec.sriov.minTxRateMbps", c.minTxRateMbps, "minTxRateMbps must be less than maxTxRateMbps");
      if ((c.resourceName ?? "") === "")
        return required("spec.sriov.resourceName", "no spec.sriovConfig[resourceName] specified");
      if ((injRdma || injNet) && poolCount(c.ippools) === 0) return noPools("sriov");
      return undefined;
    }
    case "ib-sriov": {
      const c = s.ibsriov;
      if (c === undefined) return need("ibsriov");
      if ((c.resourceName ?? "") === "")
        return required("spec.ibsriov.resourceName", "no spec.ibsriovConfig[resourceName] specified");
      if ((injRdma || injNet) && poolCount(c.ippools) === 0) return noPools("ibsriov");
      return undefined;
    }
    case "ipoib": {
      const c = s.ipoib;
      if (c === undefined) return need("ipoib");
      if ((c.master ?? "") === "") return required("spec.ipoib.master", "no spec.ipoibConfig[master] specified");
      if ((injRdma || injNet) && poolCount(c.ippools) === 0) return noPools("ipoib");
      return undefined;
    }
    case "ovs": {
      if (injRdma || injNet) return noInject();
      const c = s.ovs;
      if (c === undefined) return need("ovs");
      const r = vlanRange("spec.ovs.vlan", c.vlan);
      if (r !== undefined) return r;
      for (const [i, tr] of (c.trunk ?? []).entries()) {
        const f = `spec.ovs.trunk[${i}]`;
        if ((tr.minID ?? 0) > 4094 || (tr.maxID ?? 0) > 4094) return invalid(f, tr, "IDs must be within 0..4094");
        if (tr.maxID !== undefined && tr.maxID < (tr.minID ?? 0))
          return invalid(f, tr, "maxID must not be below minID");
        if ((tr.id ?? 0) > 4096) return invalid(f, tr, "id must not exceed 4096");
      }
      return undefined;
    }
    case "custom": {
      if (injRdma || injNet) return noInject();
      const typed = SUB_CONFIGS.filter((k) => s[k] !== undefined);
      if (typed.length > 0) return forbidden("spec.cniType", `cniType custom takes no ${typed[0]} configuration`);
      if (s.customCNI !== undefined && s.customCNI !== "") {
        try {
          JSON.parse(s.customCNI);
        } catch {
          return forbidden("spec.customCNI", "customCniConfig isn't a valid JSON encoding");
        }
      }
      return undefined;
    }
  }
}
