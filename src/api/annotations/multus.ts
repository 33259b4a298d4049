/**
 * Multus's network-selection annotations, which the agent reads to match pools'
 * `multusName` and which the pod webhook writes: `ns/name@ifname,...` or a JSON list.
 */
import { InvalidAnnotationError } from "./errors.ts";
import { DecodeError, decodeArray, decodeObject, parseJson } from "./go-json.ts";
import { ANNO_MULTUS_DEFAULT_NETWORK, ANNO_MULTUS_NETWORKS, ANNO_SMC_CNI_VERSION, ANNO_SMC_CR_NAME } from "./keys.ts";

export interface NetworkSelection {
  namespace: string;
  name: string;
  /** The NIC name when given (`@net1` or `"interface"`); else the caller numbers it. */
  interface?: string;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function check(annotation: string, part: string, sel: NetworkSelection): NetworkSelection {
  const bad = (detail: string): never => {
    throw new InvalidAnnotationError({ owner: "Pod", annotation, part, detail: `${part}: ${detail}` });
  };
  if (!DNS1123_SUBDOMAIN.test(sel.name) || sel.name.length > 253) {
    bad(`network name '${sel.name}' is not a DNS-1123 subdomain`);
  }
  if (!DNS1123_LABEL.test(sel.namespace) || sel.namespace.length > 63) {
    bad(`namespace '${sel.namespace}' is not a DNS-1123 label`);
  }
  if (
    sel.interface !== undefined &&
    (sel.interface === "" || /[/\s:@]/.test(sel.interface) || new TextEncoder().encode(sel.interface).length > 15)
  ) {
    bad(`interface '${sel.interface}' is not a valid interface name (1-15 bytes, no '/', ':', '@' or whitespace)`);
  }
  return sel;
}

function fromText(annotation: string, entry: string, index: number, defaultNamespace: string): NetworkSelection {
  const part = `[${index}]`;
  let rest = entry;
  let iface: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0 && rest.indexOf("@", at + 1) >= 0) {
    throw new InvalidAnnotationError({
      owner: "Pod",
      annotation,
      part,
      detail: `${part}: '${entry}' has more than one '@'`,
    });
  }
  if (at >= 0) {
    iface = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const parts = rest.split("/");
  if (parts.length > 2) {
    throw new InvalidAnnotationError({
      owner: "Pod",
      annotation,
      part,
      detail: `${part}: '${entry}' is not [namespace/]name[@interface]`,
    });
  }
  const sel: NetworkSelection =
    parts.length === 2
      ? { namespace: parts[0] as string, name: parts[1] as string }
      : { namespace: defaultNamespace, name: parts[0] as string };
  if (iface !== undefined) sel.interface = iface;
  return check(annotation, part, sel);
}

function fromJson(annotation: string, item: unknown, index: number, defaultNamespace: string): NetworkSelection {
  const part = `[${index}]`;
  try {
    const d = decodeObject(item, { name: "string", namespace: "string", interface: "string" }, part);
    const sel: NetworkSelection = {
      namespace: d.namespace !== undefined && d.namespace !== "" ? d.namespace : defaultNamespace,
      name: d.name ?? "",
    };
    if (d.interface !== undefined && d.interface !== "") sel.interface = d.interface;
    return check(annotation, part, sel);
  } catch (err) {
    if (err instanceof DecodeError) {
      throw new InvalidAnnotationError({ owner: "Pod", annotation, part, detail: `${err.path}: ${err.message}` });
    }
    throw err;
  }
}

/** `k8s.v1.cni.cncf.io/networks`: the secondary networks, in order. */
export function parseMultusNetworks(value: string, podNamespace: string): NetworkSelection[] {
  const a = ANNO_MULTUS_NETWORKS;
  const text = value.trim();
  if (text === "") return [];
  if (text.startsWith("[")) {
    let raw: unknown[];
    try {
      raw = decodeArray(parseJson(text), "");
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new InvalidAnnotationError({ owner: "Pod", annotation: a, part: "value", detail: err.message });
      }
      throw err;
    }
    return raw.map((item, i) => fromJson(a, item, i, podNamespace));
  }
  return text.split(",").map((entry, i) => fromText(a, entry.trim(), i, podNamespace));
}

/**
 * `v1.multus-cni.io/default-network`: the network of the first NIC, as `[ns/]name` or a
 * JSON object (or a one-item JSON list). A bare name is in `defaultNamespace`.
 */
export function parseMultusDefaultNetwork(value: string, defaultNamespace: string): NetworkSelection {
  const a = ANNO_MULTUS_DEFAULT_NETWORK;
  const text = value.trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    let item: unknown;
    try {
      item = parseJson(text);
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new InvalidAnnotationError({ owner: "Pod", annotation: a, part: "value", detail: err.message });
      }
      throw err;
    }
    if (Array.isArray(item)) {
      if (item.length !== 1) {
        throw new InvalidAnnotationError({
          owner: "Pod",
          annotation: a,
          part: "value",
          detail: `expected exactly one network, got ${item.length}`,
        });
      }
      item = item[0];
    }
    return fromJson(a, item, 0, defaultNamespace);
  }
  if (text.includes(",") || text.includes("@")) {
    throw new InvalidAnnotationError({
      owner: "Pod",
      annotation: a,
      part: "value",
      detail: `'${text}' is not [namespace/]name: the default network is one network and takes no @interface`,
    });
  }
  return fromText(a, text, 0, defaultNamespace);
}

/** The cniVersion values a SpiderMultusConfig may ask for (`multus.spidernet.io/cni-version`). */
export const SMC_CNI_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"] as const;
export type SmcCniVersion = (typeof SMC_CNI_VERSIONS)[number];

/** `multus.spidernet.io/cni-version`; absent means 0.3.1. */
export function parseSmcCniVersion(value: string | undefined): SmcCniVersion {
  if (value === undefined) return "0.3.1";
  const v = SMC_CNI_VERSIONS.find((x) => x === value);
  if (v === undefined) {
    throw new InvalidAnnotationError({
      owner: "SpiderMultusConfig",
      annotation: ANNO_SMC_CNI_VERSION,
      part: "value",
      detail: `unsupported CNI version '${value}', expected one of ${SMC_CNI_VERSIONS.join(", ")}`,
    });
  }
  return v;
}

/** `multus.spidernet.io/cr-name`: the NetworkAttachmentDefinition's name, a DNS-1123 subdomain. */
export function parseSmcCrName(value: string): string {
  if (value.length === 0 || value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    throw new InvalidAnnotationError({
      owner: "SpiderMultusConfig",
      annotation: ANNO_SMC_CR_NAME,
      part: "value",
      detail: `'${value}' is not a DNS-1123 subdomain (lower case alphanumerics, '-' and '.', at most 253 characters)`,
    });
  }
  return value;
}
