/** SpiderReservedIP admission (spec §2.3): derive the family from `ips[0]`, merge, check each range. */
import type { SpiderReservedIP } from "../../api/reservedip.ts";
import { parseIPRange } from "../../ip/index.ts";
import { mergeList, type FamilyConfig } from "./rules.ts";
import { forbidden, invalid, notSupported, required, type Verdict } from "./verdict.ts";

export function mutateReservedIP(input: SpiderReservedIP): SpiderReservedIP {
  const r = structuredClone(input);
  if (r.metadata.deletionTimestamp !== undefined) return r;
  const first = r.spec.ips?.[0];
  if (first === undefined) return r;
  if (r.spec.ipVersion === undefined) {
    try {
      r.spec.ipVersion = parseIPRange(first).family;
    } catch {
      return r;
    }
  }
  const ips = mergeList(r.spec.ipVersion, r.spec.ips);
  if (ips !== undefined) r.spec.ips = ips;
  return r;
}

export function validateReservedIP(
  operation: "CREATE" | "UPDATE",
  obj: SpiderReservedIP | undefined,
  old: SpiderReservedIP | undefined,
  cfg: FamilyConfig,
): Verdict | undefined {
  if (obj === undefined) return required("object", "the request carries no object");
  if (operation === "UPDATE") {
    if (obj.metadata.deletionTimestamp !== undefined) {
      return old?.metadata.deletionTimestamp === undefined
        ? undefined
        : forbidden("metadata.deletionTimestamp", "cannot update a terminating ReservedIP");
    }
    if (
      old?.spec.ipVersion !== undefined &&
      obj.spec.ipVersion !== undefined &&
      old.spec.ipVersion !== obj.spec.ipVersion
    )
      return forbidden("spec.ipVersion", "is not changeable");
  }
  const v = obj.spec.ipVersion;
  if (v === undefined) return invalid("spec.ipVersion", null, "spec.ips is empty or spec.ips[0] may be invalid");
  if (v !== 4 && v !== 6) return notSupported("spec.ipVersion", v, [4, 6]);
  if (v === 4 && !cfg.enableIPv4) return forbidden("spec.ipVersion", "IPv4 is disabled");
  if (v === 6 && !cfg.enableIPv6) return forbidden("spec.ipVersion", "IPv6 is disabled");
  for (const [i, s] of (obj.spec.ips ?? []).entries()) {
    let ok = false;
    try {
      ok = parseIPRange(s).family === v;
    } catch {
      ok = false;
    }
    if (!ok) return invalid(`spec.ips[${i}]`, s, `invalid IP range of IPv${v}`);
  }
  return undefined;
}
