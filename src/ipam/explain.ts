/**
 * Why a pod gets (or does not get) its addresses: the agent's pool selection replayed on
 * plain objects (spec §1.4–§1.10) with every step kept — the rule that named the
 * candidates, each pool's filter verdict in the agent's words, the address it holds or would
 * get, and the first thing to fix. Decisions come from the functions the agent's ADD calls
 * (selectCandidates, familyContext, judgeFamily, liveAutoPools, pickInDraft); this module
 * only records them. Pure: the caller reads the objects (`spiderpoolctl explain` from the
 * API server, the agent from its cache).
 */
import type { SpiderIPPool } from "../api/ippool.ts";
import type { ObjectMeta } from "../api/meta.ts";
import type { IPRangeSet } from "../ip/index.ts";
import { autoPoolMissing, autoPoolAmbiguous, liveAutoPools } from "./auto-pool.ts";
import { selectCandidates, type CandidateRule, type NicCandidate } from "./candidates.ts";
import { allocationFailed, deadPod, IpamError, inStandardMode, poolNotFound } from "./errors.ts";
import { familyContext, judgeFamily } from "./family-plan.ts";
import type { FilterCheck, FilterContext, FilterRefusal } from "./filter.ts";
import { pickInDraft } from "./pick.ts";
import { isPodAlive, type TopController } from "./pod.ts";
import { poolAddresses } from "./pool-state.ts";
import { Draft, RecordSet } from "./record-set.ts";

export interface ExplainInput {
  pod: {
    metadata: ObjectMeta;
    spec?: { nodeName?: string; restartPolicy?: string };
    status?: { phase?: string; reason?: string };
  };
  top: TopController;
  namespace: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> };
  nodeLabels: Readonly<Record<string, string>>;
  /** Every SpiderIPPool. */
  pools: readonly SpiderIPPool[];
  /** Reserved addresses per family (SpiderReservedIPs). */
  reserved: { 4: IPRangeSet; 6: IPRangeSet };
  /** The interface the runtime asks for (eth0 for the pod's first). */
  ifName: string;
  netconf: { defaultIPv4IPPool: readonly string[]; defaultIPv6IPPool: readonly string[]; cleanGateway: boolean };
  config: {
    enableIPv4: boolean;
    enableIPv6: boolean;
    enableSpiderSubnet: boolean;
    enableAutoPoolForApplication: boolean;
    agentNamespace: string;
    clusterNetwork: string;
    maxRecords: number;
  };
}

export type PoolCheck = FilterCheck | "missing" | "allocation";

export interface PoolExplanation {
  pool: string;
  /** Kept by every filter. */
  kept: boolean;
  /** The check that removed it or that failed to give an address. */
  check?: PoolCheck;
  /** In the agent's words. */
  reason?: string;
  /** 1-based position among the kept pools, in the order the agent tries them. */
  tried?: number;
  /** The address this pod holds in the pool, or the one it would get. */
  address?: string;
  held?: boolean;
}

export interface FamilyExplanation {
  family: 4 | 6;
  pools: PoolExplanation[];
  /** The pool the address comes from, when one gives it. */
  pool?: string;
  address?: string;
  held?: boolean;
  /** The agent's error when this family fails. */
  error?: string;
  fix?: string;
}

export interface Explanation {
  pod: string;
  uid: string;
  node: string;
  workload: string;
  /** The rule that named the candidate pools (undefined when selection itself failed). */
  rule?: CandidateRule;
  ruleText: string;
  nics: Array<{ nic: string; families: FamilyExplanation[] }>;
  ok: boolean;
  /** What the agent answers the ADD with when it fails. */
  error?: string;
  /** The first thing to fix, when it fails. */
  fix?: string;
}

const RULE_TEXT: Record<CandidateRule, string> = {
  subnets: "pod annotation ipam.spidernet.io/subnet(s): the application's auto-created pool",
  ippools: "pod annotation ipam.spidernet.io/ippools",
  ippool: "pod annotation ipam.spidernet.io/ippool",
  namespace: "namespace default (ipam.spidernet.io/default-ipv4-ippool, default-ipv6-ippool)",
  netconf: "netconf default (default_ipv4_ippool, default_ipv6_ippool)",
  cluster: "cluster default (pools with spec.default: true)",
};

/** Where the user changes the pool list a rule came from. */
const RULE_SOURCE: Record<CandidateRule, string> = {
  subnets: "the pod's subnet annotation",
  ippools: "the pod's ipam.spidernet.io/ippools annotation",
  ippool: "the pod's ipam.spidernet.io/ippool annotation",
  namespace: "the namespace's default-pool annotation",
  netconf: "the CNI netconf's default pools",
  cluster: "the pools marked spec.default: true",
};

/** The first thing to change so that this pool would serve this pod. */
export function fixForRefusal(r: { check: PoolCheck }, pool: string, ctx: FilterContext, rule?: CandidateRule): string {
  const src = rule === undefined ? "the pod's pool selection" : RULE_SOURCE[rule];
  switch (r.check) {
    case "terminating":
      return `IPPool ${pool} is being deleted: name another pool in ${src}`;
    case "disabled":
      return `enable IPPool ${pool} (spec.disable: false) or name another pool in ${src}`;
    case "family":
      return `name an IPv${ctx.family} pool for IPv${ctx.family} in ${src}`;
    case "nodeName":
      return `add node ${ctx.pod.nodeName} to spec.nodeName of IPPool ${pool}, or schedule the pod onto a node it lists`;
    case "nodeAffinity":
      return `label node ${ctx.pod.nodeName} to match spec.nodeAffinity of IPPool ${pool}, or widen that affinity`;
    case "namespaceName":
      return `add namespace ${ctx.pod.namespace} to spec.namespaceName of IPPool ${pool}`;
    case "namespaceAffinity":
      return `label namespace ${ctx.pod.namespace} to match spec.namespaceAffinity of IPPool ${pool}, or widen that affinity`;
    case "podAffinity":
      return `label the pod (its template) to match spec.podAffinity of IPPool ${pool}, or widen that affinity`;
    case "autoPoolApp":
      return `IPPool ${pool} was created for another application: remove it from ${src}`;
    case "multus":
      return `make spec.multusName of IPPool ${pool} name the pod's network for ${ctx.nic} (or the pod's network annotation name one the pool lists)`;
    case "masterSubnet":
      return `use a pool whose subnet holds an address of ${ctx.master?.name ?? "the NIC's master"}, or give that interface an address in ${pool}'s subnet`;
    case "missing":
      return `create SpiderIPPool ${pool}, or remove it from ${src}`;
    case "allocation":
      return `add addresses to spec.ips of IPPool ${pool} (or delete pods that hold its addresses; 'spiderpoolctl check' finds leaked ones)`;
  }
}

function fixForSelection(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ERR_NO_POOL_RULES":
      return "annotate the pod with ipam.spidernet.io/ippool, give its namespace a default pool, or mark a pool spec.default: true";
    case "ERR_DUPLICATE_POOL":
      return "list each pool once per NIC in the pod's annotation";
    case "ERR_SUBNET_FEATURE":
      return "use the subnet annotations only on pods of a workload, with the auto-pool feature enabled; or name pools instead";
    case "ERR_DEAD_POD":
      return "nothing: the pod will not run again; its controller creates a new one";
    default:
      return "fix the pod's IPAM annotations (the message names the one the agent cannot read)";
  }
}

function familyPools(nic: NicCandidate, family: 4 | 6): string[] {
  return family === 4 ? nic.v4 : nic.v6;
}

/**
 * The auto-created pool each family of the subnet selection resolves to, as the agent
 * resolves it once the controller has made it (the agent waits; explain says it is missing).
 */
function autoPoolNic(
  input: ExplainInput,
  sel: { interface: string; ipv4?: string; ipv6?: string },
): { nic: NicCandidate; missing: Map<4 | 6, Error> } {
  const nic: NicCandidate = { nic: sel.interface, v4: [], v6: [], cleanGateway: input.netconf.cleanGateway };
  const missing = new Map<4 | 6, Error>();
  for (const [family, subnet] of [
    [4, sel.ipv4],
    [6, sel.ipv6],
  ] as const) {
    if (subnet === undefined || (family === 4 ? !input.config.enableIPv4 : !input.config.enableIPv6)) continue;
    const found = liveAutoPools(input.pools, subnet, input.top, sel.interface, family);
    const names = found.pools.map((p) => p.metadata.name ?? "");
    if (names.length === 1) familyPools(nic, family).push(names[0] as string);
    else
      missing.set(
        family,
        names.length === 0
          ? autoPoolMissing(found.selector)
          : autoPoolAmbiguous(input.top, sel.interface, found.selector, names),
      );
  }
  return { nic, missing };
}

function explainFamily(
  input: ExplainInput,
  nic: NicCandidate,
  named: boolean,
  family: 4 | 6,
  rule: CandidateRule,
): FamilyExplanation {
  const names = familyPools(nic, family);
  const byName = new Map(input.pools.map((p) => [p.metadata.name ?? "", p]));
  const ctx = familyContext({
    family,
    nic,
    named,
    pod: input.pod,
    top: input.top,
    nodeLabels: input.nodeLabels,
    namespaceLabels: input.namespace.labels,
    agentNamespace: input.config.agentNamespace,
    clusterNetwork: input.config.clusterNetwork,
  });
  const absent = names.filter((n) => !byName.has(n));
  if (absent.length > 0) {
    // The agent stops at the first pool it cannot find, before any filter.
    const first = absent[0] as string;
    return {
      family,
      pools: names.map((pool) =>
        byName.has(pool)
          ? { pool, kept: false }
          : { pool, kept: false, check: "missing", reason: poolNotFound(pool).message },
      ),
      error: poolNotFound(first).message,
      fix: fixForRefusal({ check: "missing" }, first, ctx, rule),
    };
  }
  const pools = names.map((n) => byName.get(n) as SpiderIPPool);
  const judged = judgeFamily(pools, ctx);
  const out: PoolExplanation[] = judged.verdicts.map(({ pool, refusal }) => verdictOf(pool, refusal));
  if (judged.error !== undefined) {
    const first = judged.verdicts[0];
    return {
      family,
      pools: out,
      error: judged.error.message,
      fix: fixForRefusal(first?.refusal ?? { check: "missing" }, first?.pool.metadata.name ?? "", ctx, rule),
    };
  }
  const errors: Error[] = [];
  const fam: FamilyExplanation = { family, pools: out };
  judged.survivors.forEach((p, i) => {
    const name = p.metadata.name ?? "";
    const row = out.find((r) => r.pool === name) as PoolExplanation;
    row.tried = i + 1;
    if (fam.address !== undefined) return;
    try {
      const pick = pickIn(p, input);
      Object.assign(row, { address: pick.ip, held: pick.reused });
      Object.assign(fam, { pool: name, address: pick.ip, held: pick.reused });
    } catch (err) {
      errors.push(err as Error);
      Object.assign(row, { check: "allocation", reason: (err as Error).message });
    }
  });
  if (fam.address === undefined) {
    const first = judged.survivors[0]?.metadata.name ?? "";
    fam.error = allocationFailed(
      family,
      nic.nic,
      judged.survivors.map((p) => p.metadata.name ?? ""),
      errors,
    ).message;
    fam.fix = fixForRefusal({ check: "allocation" }, first, ctx, rule);
  }
  return fam;
}

function verdictOf(pool: SpiderIPPool, refusal: FilterRefusal | undefined): PoolExplanation {
  const name = pool.metadata.name ?? "";
  return refusal === undefined ? { pool: name, kept: true } : { pool: name, kept: false, ...refusal };
}

/** The agent's pick (§1.10) on the pool as it is now: what the pod holds there, or the lowest free address. */
function pickIn(p: SpiderIPPool, input: ExplainInput): { ip: string; reused: boolean } {
  const addrs = poolAddresses(p.spec);
  const reserved = input.reserved[addrs.family];
  const available = addrs.effective.subtract(reserved);
  const records = RecordSet.parse(addrs.family, p.status?.allocatedIPs);
  return pickInDraft(
    p.metadata.name ?? "",
    available,
    new Draft(records),
    input.pod.metadata.uid ?? "",
    input.config.maxRecords,
  );
}

export function explainPod(input: ExplainInput): Explanation {
  const md = input.pod.metadata;
  const head = {
    pod: `${md.namespace ?? ""}/${md.name ?? ""}`,
    uid: md.uid ?? "",
    node: input.pod.spec?.nodeName ?? "",
    workload: `${input.top.kind}/${input.top.name}`,
  };
  const failed = (err: unknown): Explanation => ({
    ...head,
    ruleText: "none",
    nics: [],
    ok: false,
    error: inStandardMode(err).message,
    fix: fixForSelection(err),
  });
  if (!isPodAlive(input.pod)) return failed(deadPod(md.namespace ?? "", md.name ?? ""));
  const byFamily = (f: 4 | 6, onlyDefault: boolean): string[] =>
    input.pools
      .filter(
        (p) =>
          (p.spec.ipVersion ?? (p.spec.subnet.includes(":") ? 6 : 4)) === f &&
          (!onlyDefault || p.spec.default === true),
      )
      .map((p) => p.metadata.name ?? "")
      .sort();
  let c;
  try {
    c = selectCandidates({
      ifName: input.ifName,
      podAnnotations: md.annotations ?? {},
      namespaceAnnotations: input.namespace.annotations,
      netconf: {
        ...input.netconf,
        defaultIPv4IPPool: [...input.netconf.defaultIPv4IPPool],
        defaultIPv6IPPool: [...input.netconf.defaultIPv6IPPool],
      },
      clusterDefaults: { v4: byFamily(4, true), v6: byFamily(6, true) },
      poolNames: { v4: byFamily(4, false), v6: byFamily(6, false) },
      enableIPv4: input.config.enableIPv4,
      enableIPv6: input.config.enableIPv6,
      enableSpiderSubnet: input.config.enableSpiderSubnet,
      enableAutoPoolForApplication: input.config.enableAutoPoolForApplication,
    });
  } catch (err) {
    return failed(err);
  }
  let nics: NicCandidate[];
  let named: boolean;
  const missing = new Map<string, Map<4 | 6, Error>>();
  if (c.kind === "pools") {
    nics = c.nics;
    named = c.namedNics;
  } else {
    if (input.top.kind === "Pod") {
      return failed(
        new IpamError(
          "ERR_SUBNET_FEATURE",
          "failed to get IPPool candidates from Subnet: SpiderSubnet feature doesn't support no-controller pod",
        ),
      );
    }
    const sel = c.selections.find((s) => s.interface === input.ifName) ?? c.selections[0];
    if (sel === undefined) return failed(new IpamError("ERR_WRONG_INPUT", "no subnet selection"));
    const r = autoPoolNic(input, sel);
    nics = [r.nic];
    named = true;
    missing.set(r.nic.nic, r.missing);
  }
  const out: Explanation = { ...head, rule: c.rule, ruleText: RULE_TEXT[c.rule], nics: [], ok: true };
  for (const nic of nics) {
    const families: FamilyExplanation[] = [];
    for (const family of [4, 6] as const) {
      const gone = missing.get(nic.nic)?.get(family);
      if (gone !== undefined) {
        families.push({
          family,
          pools: [],
          error: gone.message,
          fix: "the controller creates the application's pool: check that the SpiderSubnet has free addresses and the controller runs ('spiderpoolctl top pools')",
        });
      } else if (familyPools(nic, family).length > 0) {
        families.push(explainFamily(input, nic, named, family, c.rule));
      }
    }
    out.nics.push({ nic: nic.nic, families });
  }
  const firstFail = out.nics.flatMap((n) => n.families).find((f) => f.error !== undefined);
  if (firstFail !== undefined) {
    out.ok = false;
    out.error = inStandardMode(new Error(firstFail.error)).message;
    if (firstFail.fix !== undefined) out.fix = firstFail.fix;
  }
  return out;
}

/** The explanation as the terminal shows it. */
export function renderExplanation(e: Explanation): string {
  const lines = [
    `pod ${e.pod} (uid ${e.uid}) on node ${e.node === "" ? "(not scheduled)" : e.node}, workload ${e.workload}`,
    `rule: ${e.ruleText}`,
  ];
  for (const nic of e.nics) {
    for (const f of nic.families) {
      lines.push(`${nic.nic} IPv${f.family}:`);
      for (const p of f.pools) {
        const mark = p.kept ? (p.address !== undefined ? "✓" : p.check === "allocation" ? "✗" : "·") : "✗";
        const order = p.tried !== undefined ? `#${p.tried} ` : "";
        const what = p.kept
          ? p.address !== undefined
            ? `kept, ${p.held === true ? "holds" : "would get"} ${p.address}`
            : p.reason !== undefined
              ? `kept, no address: ${p.reason}`
              : "kept (not reached: an earlier pool gives the address)"
          : p.reason !== undefined
            ? `removed: ${p.reason}`
            : "not reached (an earlier pool is missing)";
        lines.push(`  ${mark} ${order}${p.pool}: ${what}`);
      }
      if (f.error !== undefined) lines.push(`  fails: ${f.error}`);
    }
  }
  lines.push(e.ok ? "result: OK" : `result: FAILS\n  error: ${e.error ?? ""}\n  fix first: ${e.fix ?? ""}`);
  return lines.join("\n") + "\n";
}
