/**
 * Parsers for the values of the IPAM annotations on pods, pod templates and namespaces.
 * Each returns a typed value or throws {@link InvalidAnnotationError} naming the
 * annotation, the offending part and what was expected; upstream's error texts are kept
 * where the spec gives them.
 */
import { parseCIDR, tryParseIP } from "../../ip/index.ts";
import { BadGlobPatternError, compileGlob, isGlob } from "../glob.ts";
import type { Route } from "../meta.ts";
import { InvalidAnnotationError, type AnnotationOwner } from "./errors.ts";
import { DecodeError, decodeArray, decodeObject, describeJson, parseJson } from "./go-json.ts";
import {
  ANNO_DEFAULT_ROUTE_NIC,
  ANNO_NS_DEFAULT_IPV4_POOL,
  ANNO_NS_DEFAULT_IPV6_POOL,
  ANNO_POD_IPPOOL,
  ANNO_POD_IPPOOLS,
  ANNO_POD_ROUTES,
  ANNO_POD_SUBNET,
  ANNO_POD_SUBNETS,
  ANNO_POOL_IP_NUMBER,
  ANNO_POOL_RECLAIM,
} from "./keys.ts";

function fail(owner: AnnotationOwner, annotation: string, part: string, detail: string, message?: string): never {
  throw new InvalidAnnotationError(
    message === undefined ? { owner, annotation, part, detail } : { owner, annotation, part, detail, message },
  );
}

/** Runs a decode step, turning a DecodeError into the annotation's error. */
function decoding<T>(owner: AnnotationOwner, annotation: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof DecodeError) {
      const part = err.path === "" ? "value" : err.path;
      return fail(owner, annotation, part, err.path === "" ? err.message : `${err.path}: ${err.message}`);
    }
    throw err;
  }
}

/** Pool names may be plain or Go-style wildcards; empty names and bad patterns are refused. */
function checkPoolNames(owner: AnnotationOwner, annotation: string, path: string, names: readonly string[]): void {
  names.forEach((name, i) => {
    const part = `${path}[${i}]`;
    if (name === "") fail(owner, annotation, part, `${part}: a pool name must not be empty`);
    if (isGlob(name)) {
      try {
        compileGlob(name);
      } catch (err) {
        if (err instanceof BadGlobPatternError) fail(owner, annotation, part, `${part}: ${err.message}`);
        throw err;
      }
    }
  });
}

/** `ipam.spidernet.io/ippool`: candidate pools, per family, for the NIC of this CNI call. */
export interface PoolSelection {
  ipv4: string[];
  ipv6: string[];
}

export function parseIPPoolAnnotation(value: string): PoolSelection {
  const a = ANNO_POD_IPPOOL;
  const d = decoding("Pod", a, () => decodeObject(parseJson(value), { ipv4: "stringList", ipv6: "stringList" }, ""));
  const sel = { ipv4: d.ipv4 ?? [], ipv6: d.ipv6 ?? [] };
  checkPoolNames("Pod", a, "ipv4", sel.ipv4);
  checkPoolNames("Pod", a, "ipv6", sel.ipv6);
  return sel;
}

/** One NIC of `ipam.spidernet.io/ippools`. */
export interface NicPoolSelection extends PoolSelection {
  /** The NIC name; in no-name mode the item's index ("0", "1", ...). */
  interface: string;
  cleanGateway: boolean;
}

export interface IPPoolsAnnotation {
  /** False in no-name mode: items map by position to eth0, net1, net2, ... */
  named: boolean;
  items: NicPoolSelection[];
}

/**
 * `ipam.spidernet.io/ippools`: pools per NIC. When `currentInterface` is given and the
 * items are named, that NIC must be listed (upstream: `interface %s must be specified`).
 */
export function parseIPPoolsAnnotation(value: string, currentInterface?: string): IPPoolsAnnotation {
  const a = ANNO_POD_IPPOOLS;
  const raw = decoding("Pod", a, () => decodeArray(parseJson(value), ""));
  if (raw.length === 0) fail("Pod", a, "value", "value requires at least one item");
  const items = raw.map((item, i) =>
    decoding("Pod", a, () =>
      decodeObject(
        item,
        { interface: "string", ipv4: "stringList", ipv6: "stringList", cleangateway: "bool" },
        `[${i}]`,
      ),
    ),
  );
  const namedCount = items.filter((it) => (it.interface ?? "") !== "").length;
  if (namedCount !== 0 && namedCount !== items.length) {
    fail("Pod", a, "interface", "NIC should be either all specified or all unspecified");
  }
  const named = namedCount > 0;
  const out: NicPoolSelection[] = items.map((it, i) => ({
    interface: named ? (it.interface as string) : String(i),
    ipv4: it.ipv4 ?? [],
    ipv6: it.ipv6 ?? [],
    cleanGateway: it.cleangateway ?? false,
  }));
  const seen = new Set<string>();
  out.forEach((nic, i) => {
    if (seen.has(nic.interface)) fail("Pod", a, `[${i}].interface`, `duplicate interface ${nic.interface}`);
    seen.add(nic.interface);
    checkPoolNames("Pod", a, `[${i}].ipv4`, nic.ipv4);
    checkPoolNames("Pod", a, `[${i}].ipv6`, nic.ipv6);
  });
  if (named && currentInterface !== undefined && !seen.has(currentInterface)) {
    fail("Pod", a, "interface", `interface ${currentInterface} must be specified`);
  }
  return { named, items: out };
}

/**
 * `ipam.spidernet.io/routes`: each `dst` a CIDR and `gw` an address of the same family.
 * The destination must be a network address: the kernel refuses a route with host bits,
 * so accepting it here would only move the failure into the pod's network setup.
 */
export function parseRoutesAnnotation(value: string): Route[] {
  const a = ANNO_POD_ROUTES;
  const raw = decoding("Pod", a, () => decodeArray(parseJson(value), ""));
  return raw.map((item, i) => {
    const r = decoding("Pod", a, () => decodeObject(item, { dst: "string", gw: "string" }, `[${i}]`));
    const dst = r.dst ?? "";
    const gw = r.gw ?? "";
    const bad = (why: string): never =>
      fail("Pod", a, `[${i}]`, `invalid route format 'dst: ${dst}, gw: ${gw}': ${why}`);
    let cidr;
    try {
      cidr = parseCIDR(dst);
    } catch {
      return bad("dst must be a CIDR such as 198.51.100.0/24");
    }
    const ip = tryParseIP(gw);
    if (ip === undefined) return bad("gw must be an IP address");
    if (ip.family !== cidr.family) return bad("dst and gw must be of the same IP family");
    if (cidr.ip !== cidr.network) return bad("dst has host bits set");
    return { dst, gw };
  });
}

/** One NIC of the subnet annotations: the first subnet name per family is what counts. */
export interface SubnetSelection {
  interface: string;
  ipv4?: string;
  ipv6?: string;
}

function subnetItem(
  item: { interface?: string; ipv4?: string[]; ipv6?: string[] },
  multiple: boolean,
  index: number,
): SubnetSelection {
  const a = multiple ? ANNO_POD_SUBNETS : ANNO_POD_SUBNET;
  const where = multiple ? "mutilple interfaces" : "single interface";
  const shown = JSON.stringify(item);
  const part = multiple ? `[${index}]` : "value";
  const v4 = item.ipv4?.[0];
  const v6 = item.ipv6?.[0];
  // Upstream's texts, typos included, so existing alerts and searches keep matching.
  if (v4 === "") {
    const message = `it's invalid to set an empty IPv4 subnet with ${where}${multiple ? "" : `: ${shown}`}`;
    fail("Pod", a, `${part}.ipv4`, message, message);
  }
  if (v6 === "") {
    const message = `it's invalid to set an empty IPv6 subnet with ${where}${multiple ? "" : `: ${shown}`}`;
    fail("Pod", a, `${part}.ipv6`, message, message);
  }
  if (v4 === undefined && v6 === undefined) {
    const message = `it's invalid to set dual empty subnet with ${multiple ? "multiple interfaces" : "single interface"}: ${shown}`;
    fail("Pod", a, part, message, message);
  }
  const iface = item.interface ?? "";
  const sel: SubnetSelection = { interface: iface === "" && !multiple ? "eth0" : iface };
  if (v4 !== undefined) sel.ipv4 = v4;
  if (v6 !== undefined) sel.ipv6 = v6;
  return sel;
}

const SUBNET_FIELDS = { interface: "string", ipv4: "stringList", ipv6: "stringList" } as const;

/** `ipam.spidernet.io/subnet`: auto-pool mode for one NIC (`interface` defaults to eth0). */
export function parseSubnetAnnotation(value: string): SubnetSelection {
  const item = decoding("Pod", ANNO_POD_SUBNET, () => decodeObject(parseJson(value), SUBNET_FIELDS, ""));
  return subnetItem(item, false, 0);
}

/** `ipam.spidernet.io/subnets`: auto-pool mode for several NICs. */
export function parseSubnetsAnnotation(value: string): SubnetSelection[] {
  const a = ANNO_POD_SUBNETS;
  const raw = decoding("Pod", a, () => decodeArray(parseJson(value), ""));
  if (raw.length === 0) fail("Pod", a, "value", "value requires at least one item");
  const out = raw.map((item, i) =>
    subnetItem(
      decoding("Pod", a, () => decodeObject(item, SUBNET_FIELDS, `[${i}]`)),
      true,
      i,
    ),
  );
  const ifaces = new Set<string>();
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  out.forEach((sel, i) => {
    const shown = JSON.stringify(sel);
    if (sel.interface === "") {
      fail("Pod", a, `[${i}].interface`, `[${i}].interface: each item needs an interface name`);
    }
    if (ifaces.has(sel.interface)) {
      const m = `it's invalid to use the same Interface name for multiple interfaces: ${shown}`;
      fail("Pod", a, `[${i}].interface`, m, m);
    }
    ifaces.add(sel.interface);
    if ((sel.ipv4 !== undefined && v4.has(sel.ipv4)) || (sel.ipv6 !== undefined && v6.has(sel.ipv6))) {
      const m = `it's invalid to use the same subnet for multiple interfaces: ${shown}`;
      fail("Pod", a, `[${i}]`, m, m);
    }
    if (sel.ipv4 !== undefined) v4.add(sel.ipv4);
    if (sel.ipv6 !== undefined) v6.add(sel.ipv6);
  });
  return out;
}

/** `ipam.spidernet.io/ippool-ip-number`: `"N"` a fixed size, `"+N"` replicas plus N. */
export interface PoolIPNumber {
  flexible: boolean;
  n: number;
}

export function parsePoolIPNumber(value: string): PoolIPNumber {
  const a = ANNO_POOL_IP_NUMBER;
  const m = /^(\+?)(-?[0-9]+)$/.exec(value);
  const n = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !Number.isSafeInteger(n)) {
    const message = `invalid input '${value}' of annotation '${a}': expected a non-negative integer 'N' or '+N'`;
    return fail("Pod", a, "value", message, message);
  }
  if (n < 0) {
    const message = `subnet '${a}' value must equal or greater than 0`;
    return fail("Pod", a, "value", message, message);
  }
  // "-0" is zero, not negative zero.
  return { flexible: m[1] === "+", n: n === 0 ? 0 : n };
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** `ipam.spidernet.io/ippool-reclaim`: Go strconv.ParseBool; absent means true. */
export function parsePoolReclaim(value: string | undefined): boolean {
  if (value === undefined) return true;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  const message = `invalid value '${value}' of annotation '${ANNO_POOL_RECLAIM}': expected true or false`;
  return fail("Pod", ANNO_POOL_RECLAIM, "value", message, message);
}

/**
 * `ipam.spidernet.io/default-route-nic`: a Linux interface name (1..15 bytes, no '/', no
 * whitespace, not '.' or '..'), the rules the kernel applies when the NIC is created.
 */
export function parseDefaultRouteNic(value: string): string {
  const a = ANNO_DEFAULT_ROUTE_NIC;
  const why =
    value === ""
      ? "an interface name must not be empty"
      : new TextEncoder().encode(value).length > 15
        ? "an interface name has at most 15 bytes"
        : /[/\s:]/.test(value)
          ? "an interface name has no '/', ':' or whitespace"
          : value === "." || value === ".."
            ? "'.' and '..' are not interface names"
            : undefined;
  if (why !== undefined) fail("Pod", a, "value", `'${value}': ${why}`);
  return value;
}

/** `ipam.spidernet.io/default-ipv4-ippool` / `-ipv6-ippool` on a namespace: a JSON list of pool names. */
export function parseNamespaceDefaultPools(
  annotation: typeof ANNO_NS_DEFAULT_IPV4_POOL | typeof ANNO_NS_DEFAULT_IPV6_POOL,
  value: string,
): string[] {
  const raw = decoding("Namespace", annotation, () => decodeArray(parseJson(value), ""));
  const names = raw.map((v, i) => {
    if (typeof v !== "string") {
      return fail("Namespace", annotation, `[${i}]`, `[${i}]: expected a pool name, got ${describeJson(v)}`);
    }
    return v;
  });
  checkPoolNames("Namespace", annotation, "", names);
  return names;
}
