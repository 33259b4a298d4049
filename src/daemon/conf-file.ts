/**
 * The `conf.yml` of the spiderpool-conf ConfigMap (spec §6.1), as both daemons read it: a
 * YAML mapping whose switches must be booleans. An unreadable file or a wrong type is
 * refused at start, through the daemon's own error class.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { ConfigErrorFactory } from "./env.ts";

export function readConfMapping(
  path: string | undefined,
  fail: ConfigErrorFactory,
  isBooleanKey: (key: string) => boolean,
): Record<string, unknown> {
  if (path === undefined) return {};
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw fail(`cannot read config file '${path}': ${(err as Error).message}`);
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw fail(`config file '${path}' is not a YAML mapping`);
  const conf = raw as Record<string, unknown>;
  for (const [k, v] of Object.entries(conf)) {
    if (isBooleanKey(k) && v !== undefined && typeof v !== "boolean")
      throw fail(`config file '${path}': ${k} must be true or false`);
  }
  return conf;
}

/**
 * The "+N" an auto-created pool gets when the application sets no `ippool-ip-number`.
 * Upstream's chart writes `clusterSubnetDefaultFlexibleIPNumber` while its code reads
 * `clusterSubnetAutoPoolDefaultRedundantIPNumber`, so the chart's value never applies; we
 * read both (the code's key first) and default to the chart's 1 (docs/compatibility.md).
 */
export function defaultFlexibleIPNumber(conf: Record<string, unknown>, path: string, fail: ConfigErrorFactory): number {
  for (const k of ["clusterSubnetAutoPoolDefaultRedundantIPNumber", "clusterSubnetDefaultFlexibleIPNumber"]) {
    const v = conf[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      throw fail(`config file '${path}': ${k} must be a non-negative integer`);
    return v;
  }
  return 1;
}
