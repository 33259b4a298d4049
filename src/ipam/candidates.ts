/**
 * Which pools a CNI ADD may draw from (spec §1.4–§1.6): the first rule that applies wins
 * (subnet annotations, pod `ippools`, pod `ippool`, namespace defaults, netconf defaults,
 * cluster default pools), wildcards expand against the pools of each family, pools of a
 * disabled family are dropped, and duplicates per NIC are refused.
 */
import {
  ANNO_NS_DEFAULT_IPV4_POOL,
  ANNO_NS_DEFAULT_IPV6_POOL,
  ANNO_POD_IPPOOL,
  ANNO_POD_IPPOOLS,
  ANNO_POD_SUBNET,
  ANNO_POD_SUBNETS,
  parseIPPoolAnnotation,
  parseIPPoolsAnnotation,
  parseNamespaceDefaultPools,
  parseSubnetAnnotation,
  parseSubnetsAnnotation,
  type SubnetSelection,
} from "../api/annotations/index.ts";
import { expandNames } from "../api/glob.ts";
import { duplicatePool, IpamError, noPoolRules } from "./errors.ts";

export type CandidateRule = "subnets" | "ippools" | "ippool" | "namespace" | "netconf" | "cluster";

/** The pools one NIC may use, per family, in the order they are tried. */
export interface NicCandidate {
  nic: string;
  v4: string[];
  v6: string[];
  cleanGateway: boolean;
}

export type Candidates =
  | { kind: "subnet"; rule: "subnets"; selections: SubnetSelection[] }
  | { kind: "pools"; rule: Exclude<CandidateRule, "subnets">; nics: NicCandidate[]; namedNics: boolean };

export interface CandidateInput {
  ifName: string;
  podAnnotations: Readonly<Record<string, string>>;
  namespaceAnnotations: Readonly<Record<string, string>>;
  netconf: { defaultIPv4IPPool: readonly string[]; defaultIPv6IPPool: readonly string[]; cleanGateway: boolean };
  /** Names of the pools with `spec.default: true`, per family. */
  clusterDefaults: { v4: readonly string[]; v6: readonly string[] };
  /** Every pool name per family, sorted, for wildcard expansion. */
  poolNames: { v4: readonly string[]; v6: readonly string[] };
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableSpiderSubnet: boolean;
  enableAutoPoolForApplication: boolean;
}

function finish(input: CandidateInput, nics: NicCandidate[]): NicCandidate[] {
  return nics.map((n) => {
    const v4 = input.enableIPv4 ? expandNames(n.v4, input.poolNames.v4) : [];
    const v6 = input.enableIPv6 ? expandNames(n.v6, input.poolNames.v6) : [];
    for (const list of [v4, v6]) {
      const seen = new Set<string>();
      for (const p of list) {
        if (seen.has(p)) throw duplicatePool(p, n.nic);
        seen.add(p);
      }
    }
    return { ...n, v4, v6 };
  });
}

export function selectCandidates(input: CandidateInput): Candidates {
  const pa = input.podAnnotations;
  const subnets = pa[ANNO_POD_SUBNETS];
  const subnet = pa[ANNO_POD_SUBNET];
  if (input.enableSpiderSubnet && (subnets !== undefined || subnet !== undefined)) {
    if (!input.enableAutoPoolForApplication) {
      throw new IpamError(
        "ERR_SUBNET_FEATURE",
        "it's invalid to use 'ipam.spidernet.io/subnets' or 'ipam.spidernet.io/subnet' annotation when Auto-Pool feature is disabled",
      );
    }
    const selections =
      subnets !== undefined ? parseSubnetsAnnotation(subnets) : [parseSubnetAnnotation(subnet as string)];
    return { kind: "subnet", rule: "subnets", selections };
  }

  const ippools = pa[ANNO_POD_IPPOOLS];
  if (ippools !== undefined) {
    const parsed = parseIPPoolsAnnotation(ippools, input.ifName);
    const nics = parsed.items.map((it) => ({
      nic: it.interface,
      v4: it.ipv4,
      v6: it.ipv6,
      cleanGateway: it.cleanGateway,
    }));
    return { kind: "pools", rule: "ippools", nics: finish(input, nics), namedNics: parsed.named };
  }

  const one = (
    rule: "ippool" | "namespace" | "netconf" | "cluster",
    v4: readonly string[],
    v6: readonly string[],
  ): Candidates => ({
    kind: "pools",
    rule,
    nics: finish(input, [{ nic: input.ifName, v4: [...v4], v6: [...v6], cleanGateway: input.netconf.cleanGateway }]),
    namedNics: true,
  });

  const ippool = pa[ANNO_POD_IPPOOL];
  if (ippool !== undefined) {
    const sel = parseIPPoolAnnotation(ippool);
    return one("ippool", sel.ipv4, sel.ipv6);
  }

  const na = input.namespaceAnnotations;
  const ns4 =
    na[ANNO_NS_DEFAULT_IPV4_POOL] !== undefined
      ? parseNamespaceDefaultPools(ANNO_NS_DEFAULT_IPV4_POOL, na[ANNO_NS_DEFAULT_IPV4_POOL] as string)
      : [];
  const ns6 =
    na[ANNO_NS_DEFAULT_IPV6_POOL] !== undefined
      ? parseNamespaceDefaultPools(ANNO_NS_DEFAULT_IPV6_POOL, na[ANNO_NS_DEFAULT_IPV6_POOL] as string)
      : [];
  if (ns4.length > 0 || ns6.length > 0) return one("namespace", ns4, ns6);

  const nc = input.netconf;
  if (nc.defaultIPv4IPPool.length > 0 || nc.defaultIPv6IPPool.length > 0)
    return one("netconf", nc.defaultIPv4IPPool, nc.defaultIPv6IPPool);

  const cd = input.clusterDefaults;
  if (cd.v4.length === 0 && cd.v6.length === 0) throw noPoolRules();
  return one("cluster", cd.v4, cd.v6);
}

/** The canonical NIC name of a no-name `ippools` item: "0" is the first NIC, eth0. */
export function nicName(nic: string): string {
  return nic === "0" ? "eth0" : nic;
}
