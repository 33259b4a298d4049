/** Every annotation and label key of Spiderpool v1.2 (spec §3), verbatim. */

// Pod annotations read by the IPAM agent (§3.1).
export const ANNO_POD_IPPOOL = "ipam.spidernet.io/ippool";
export const ANNO_POD_IPPOOLS = "ipam.spidernet.io/ippools";
export const ANNO_POD_ROUTES = "ipam.spidernet.io/routes";
export const ANNO_POD_SUBNET = "ipam.spidernet.io/subnet";
export const ANNO_POD_SUBNETS = "ipam.spidernet.io/subnets";
export const ANNO_POOL_IP_NUMBER = "ipam.spidernet.io/ippool-ip-number";
export const ANNO_POOL_RECLAIM = "ipam.spidernet.io/ippool-reclaim";
export const ANNO_DEFAULT_ROUTE_NIC = "ipam.spidernet.io/default-route-nic";
/** Defined upstream and never read; kept so the key is known, not acted on. */
export const ANNO_DNS = "ipam.spidernet.io/dns";
export const ANNO_RDMA_RESOURCE_INJECT = "cni.spidernet.io/rdma-resource-inject";
export const ANNO_NETWORK_RESOURCE_INJECT = "cni.spidernet.io/network-resource-inject";
export const ANNO_KUBEVIRT_MIGRATION_JOB = "kubevirt.io/migrationJobName";

// Multus annotations read (and, for networks, written) by Spiderpool.
export const ANNO_MULTUS_DEFAULT_NETWORK = "v1.multus-cni.io/default-network";
export const ANNO_MULTUS_NETWORKS = "k8s.v1.cni.cncf.io/networks";
export const ANNO_MULTUS_NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";
export const ANNO_MULTUS_RESOURCE_NAME = "k8s.v1.cni.cncf.io/resourceName";

// Namespace annotations (§3.2).
export const ANNO_NS_DEFAULT_IPV4_POOL = "ipam.spidernet.io/default-ipv4-ippool";
export const ANNO_NS_DEFAULT_IPV6_POOL = "ipam.spidernet.io/default-ipv6-ippool";

// SpiderMultusConfig annotations (§3.3).
export const ANNO_SMC_CR_NAME = "multus.spidernet.io/cr-name";
export const ANNO_SMC_CNI_VERSION = "multus.spidernet.io/cni-version";
export const ANNO_SMC_CNI_CONFIG_NAME = "cni.spidernet.io/cniconfig-name";

// Labels written by Spiderpool (§3.4).
export const LABEL_IPPOOL_CIDR = "ipam.spidernet.io/ippool-cidr";
export const LABEL_SUBNET_CIDR = "ipam.spidernet.io/subnet-cidr";
export const LABEL_OWNER_SPIDER_SUBNET = "ipam.spidernet.io/owner-spider-subnet";
export const LABEL_OWNER_APPLICATION_GV = "ipam.spidernet.io/owner-application-gv";
export const LABEL_OWNER_APPLICATION_KIND = "ipam.spidernet.io/owner-application-kind";
export const LABEL_OWNER_APPLICATION_NAMESPACE = "ipam.spidernet.io/owner-application-namespace";
export const LABEL_OWNER_APPLICATION_NAME = "ipam.spidernet.io/owner-application-name";
export const LABEL_OWNER_APPLICATION_UID = "ipam.spidernet.io/owner-application-uid";
export const LABEL_INTERFACE = "ipam.spidernet.io/interface";
export const LABEL_IP_VERSION = "ipam.spidernet.io/ip-version";
export const LABEL_IPPOOL_RECLAIM = "ipam.spidernet.io/ippool-reclaim";

// Auto-pool podAffinity matchLabels keys: the only ones an auto-created pool may carry.
export const AFFINITY_APP_API_GROUP = "ipam.spidernet.io/app-api-group";
export const AFFINITY_APP_API_VERSION = "ipam.spidernet.io/app-api-version";
export const AFFINITY_APP_KIND = "ipam.spidernet.io/app-kind";
export const AFFINITY_APP_NAMESPACE = "ipam.spidernet.io/app-namespace";
export const AFFINITY_APP_NAME = "ipam.spidernet.io/app-name";
export const AUTO_POOL_AFFINITY_KEYS = [
  AFFINITY_APP_API_GROUP,
  AFFINITY_APP_API_VERSION,
  AFFINITY_APP_KIND,
  AFFINITY_APP_NAMESPACE,
  AFFINITY_APP_NAME,
] as const;

// Resource names and other keys (§3.4).
export const RESOURCE_SUB_ENI = "spidernet.io/sub-eni";
export const RESOURCE_NETWORK = "spidernet.io/network-resource";
export const KUBERNETES_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** `spidernet.io/<iface>-nic`: the extended resource of a master NIC. */
export function masterNicResource(iface: string): string {
  return `spidernet.io/${iface}-nic`;
}

/** `ovs-cni.network.kubevirt.io/<bridge>`: the NAD resource name for OVS with a deviceID. */
export function ovsResource(bridge: string): string {
  return `ovs-cni.network.kubevirt.io/${bridge}`;
}

/**
 * The CIDR label value (spec §0): up to 3 '.', up to 7 ':' and one '/' become '-'.
 * `172.18.40.0/24` -> `172-18-40-0-24`; `fd00::/64` -> `fd00---64`.
 */
export function cidrLabelValue(cidr: string): string {
  let dots = 0;
  let colons = 0;
  let slashes = 0;
  let out = "";
  for (const ch of cidr) {
    if (ch === "." && dots < 3) {
      dots++;
      out += "-";
    } else if (ch === ":" && colons < 7) {
      colons++;
      out += "-";
    } else if (ch === "/" && slashes < 1) {
      slashes++;
      out += "-";
    } else {
      out += ch;
    }
  }
  return out;
}
