/**
 * spiderpool-init's environment (spiderpool-api §6.4, node-networking §2.2), as the chart's
 * post-install Job sets it. Refused at start, naming the variable, when a value does not
 * parse: a Job that silently created a different coordinator would be worse than one that
 * fails. `DETECT_GATEWAY`/`DETECT_IP_CONFLICT` are accepted and ignored, as upstream.
 */
import { EnvReader } from "../daemon/env.ts";
import { SpiderpoolError } from "../errors/base.ts";
import { formatIP, tryParseCIDR, tryParseIP } from "../ip/index.ts";

export class InitConfigError extends SpiderpoolError {
  readonly code = "ERR_INIT_CONFIG";
}

export interface InitCoordinator {
  name: string;
  mode: string;
  podCIDRType: string;
  tunePodRoutes: boolean;
  hijackCIDR: string[];
  policyRoutes: { dst: string; gw: string }[];
  vethLinkAddress: string;
  vethMTU: number;
}

export interface InitPool {
  family: 4 | 6;
  poolName: string;
  subnetName: string;
  subnet: string;
  ips: string[];
  gateway: string;
}

export interface InitConfig {
  namespace: string;
  controllerName: string;
  coordinator: InitCoordinator | undefined;
  pools: InitPool[];
  multus:
    | {
        /** `SPIDERPOOL_INIT_DEFAULT_CNI_NAME`: the SMC's name, type custom; else from the CNI directory. */
        defaultCniName: string | undefined;
        cniDir: string;
        namespace: string;
        /**
         * `SPIDERPOOL_INIT_INSTALL_MULTUS`: the chart's Multus, whose configuration each agent's multus-config sidecar
         * writes. Upstream then patches Multus's clusterNetwork to this SMC's name; ours cannot be patched, so the
         * SMC is named the way the sidecar names clusterNetwork (docs/compatibility.md).
         */
        installMultus: boolean;
        /** `SPIDERPOOL_INIT_MULTUS_CONFIGMAP`: read so a value is reported; there is no Multus ConfigMap to patch. */
        multusConfigMap: string | undefined;
      }
    | undefined;
  readinessFile: string | undefined;
}

/** `a` → `a/32` (`/128`), a CIDR as given; anything else is refused. */
function asPrefix(s: string, key: string): string {
  if (s.includes("/")) {
    if (tryParseCIDR(s) === undefined) throw new InitConfigError(`${key}: '${s}' is not a CIDR`);
    return s;
  }
  const ip = tryParseIP(s);
  if (ip === undefined) throw new InitConfigError(`${key}: '${s}' is not an IP address or CIDR`);
  return `${formatIP(ip.family, ip.value)}/${ip.family === 4 ? 32 : 128}`;
}

function jsonList<T>(env: NodeJS.ProcessEnv, key: string, dflt: T[]): T[] {
  const v = env[key];
  if (v === undefined || v === "") return dflt;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new InitConfigError(`${key}='${v}' is not a JSON list`);
  }
  if (!Array.isArray(parsed)) throw new InitConfigError(`${key}='${v}' is not a JSON list`);
  return parsed as T[];
}

export function loadInitConfig(env: NodeJS.ProcessEnv = process.env): InitConfig {
  const e = new EnvReader(env, (m) => new InitConfigError(m));
  const opt = (k: string): string | undefined => (env[k] === undefined || env[k] === "" ? undefined : env[k]);
  const namespace = e.str("SPIDERPOOL_NAMESPACE", "kube-system");
  const C = "SPIDERPOOL_INIT_DEFAULT_COORDINATOR_";
  const coordName = opt(`${C}NAME`);
  let coordinator: InitCoordinator | undefined;
  if (coordName !== undefined) {
    const hijack = jsonList<unknown>(env, `${C}HIJACK_CIDR`, ["169.254.0.0/16"]).map((h) => {
      if (typeof h !== "string") throw new InitConfigError(`${C}HIJACK_CIDR: ${JSON.stringify(h)} is not a string`);
      return asPrefix(h, `${C}HIJACK_CIDR`);
    });
    const routes = jsonList<{ dst?: unknown; gw?: unknown }>(env, `${C}POLICY_ROUTES`, []).map((r) => {
      if (typeof r?.dst !== "string" || typeof r.gw !== "string")
        throw new InitConfigError(`${C}POLICY_ROUTES: ${JSON.stringify(r)} needs string dst and gw`);
      return { dst: asPrefix(r.dst, `${C}POLICY_ROUTES`), gw: r.gw };
    });
    coordinator = {
      name: coordName,
      mode: e.str(`${C}MODE`, "auto"),
      podCIDRType: e.str(`${C}POD_CIDR_TYPE`, "auto"),
      tunePodRoutes: e.bool(`${C}TUNE_POD_ROUTES`, true),
      hijackCIDR: hijack,
      policyRoutes: routes,
      vethLinkAddress: opt(`${C}VETH_LINK_ADDRESS`) ?? "",
      vethMTU: e.int(`${C}VETH_MTU`, 1500, 1),
    };
  }
  const pools: InitPool[] = [];
  for (const family of [4, 6] as const) {
    const P = `SPIDERPOOL_INIT_DEFAULT_IPV${family}_`;
    const poolName = opt(`${P}IPPOOL_NAME`) ?? "";
    const subnetName = opt(`${P}SUBNET_NAME`) ?? "";
    if (poolName === "" && subnetName === "") continue;
    const subnet = e.str(`${P}IPPOOL_SUBNET`);
    const c = tryParseCIDR(subnet);
    if (c === undefined || c.family !== family)
      throw new InitConfigError(`${P}IPPOOL_SUBNET='${subnet}' is not an IPv${family} CIDR`);
    const ips = jsonList<unknown>(env, `${P}IPPOOL_IPRANGES`, []).map((r) => {
      if (typeof r !== "string") throw new InitConfigError(`${P}IPPOOL_IPRANGES: ${JSON.stringify(r)} is not a string`);
      return r;
    });
    pools.push({ family, poolName, subnetName, subnet, ips, gateway: opt(`${P}IPPOOL_GATEWAY`) ?? "" });
  }
  const multus = e.bool("SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG", false)
    ? {
        defaultCniName: opt("SPIDERPOOL_INIT_DEFAULT_CNI_NAME"),
        cniDir: e.str("SPIDERPOOL_INIT_DEFAULT_CNI_DIR", "/etc/cni/net.d"),
        namespace: e.str("SPIDERPOOL_INIT_DEFAULT_CNI_NAMESPACE", namespace),
        installMultus: e.bool("SPIDERPOOL_INIT_INSTALL_MULTUS", false),
        multusConfigMap: opt("SPIDERPOOL_INIT_MULTUS_CONFIGMAP"),
      }
    : undefined;
  return {
    namespace,
    controllerName: e.str("SPIDERPOOL_CONTROLLER_NAME", "spiderpool-controller"),
    coordinator,
    pools,
    multus,
    readinessFile: opt("SPIDERPOOL_INIT_READINESS_FILE"),
  };
}
