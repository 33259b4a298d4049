/** The CNI spec versions this plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Results before 1.0.0 carry `"version": "4"|"6"` on each IP. */
export function hasIpVersionField(v: CniVersion): boolean {
  return v === "0.3.0" || v === "0.3.1" || v === "0.4.0";
}

/** GC and STATUS exist from 1.1.0. */
export function supportsGcAndStatus(v: CniVersion): boolean {
  return v === "1.1.0";
}
