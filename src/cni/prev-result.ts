/**
 * A chained plugin's `prevResult`, passed on unchanged but for its version: results before
 * 1.0.0 carry `"version": "4"|"6"` on each IP, later ones do not (libcni's conversion).
 */
import { CniCode, CniError } from "./errors.ts";
import { hasIpVersionField, isSupportedVersion, type CniVersion } from "./version.ts";

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function convertPrevResult(prev: Record<string, unknown>, to: CniVersion): Record<string, unknown> {
  const from = prev["cniVersion"] ?? to;
  if (!isSupportedVersion(from)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `failed to parse prevResult: unsupported CNI result version ${JSON.stringify(from)}`,
    );
  }
  const ips = prev["ips"];
  const out: Record<string, unknown> = { ...prev, cniVersion: to };
  if (Array.isArray(ips)) {
    out["ips"] = ips.map((ip: unknown) => {
      if (!isObj(ip)) return ip;
      const { version: _version, ...rest } = ip;
      if (!hasIpVersionField(to)) return rest;
      const address = typeof ip["address"] === "string" ? ip["address"] : "";
      return { version: address.includes(":") ? "6" : "4", ...rest };
    });
  }
  return out;
}
