/**
 * How an embedded API server is set up, and what it says it is (`/version`).
 */
import type { RegistryOptions } from "./registry-types.ts";

export interface ServerOptions extends RegistryOptions {
  /**
   * Serve HTTPS: with the given PEM certificate and key, or "generate" for a fresh CA and
   * a certificate for 127.0.0.1, ::1 and localhost (the CA goes into kubeconfig()).
   */
  tls?: { cert: string; key: string } | "generate";
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 1 s; kube: about a minute). */
  bookmarkIntervalMs?: number;
  /** Output a watch may have buffered before it is dropped as too slow (default 16 MiB). */
  watchBufferBytes?: number;
  /** Watch timeout when the client gives none (default 1800 s, as kube's min-request-timeout). */
  defaultWatchTimeoutSeconds?: number;
  /**
   * Authenticate requests (the admin kubeconfig's token, ServiceAccount tokens from
   * TokenRequest) and authorize them with RBAC; off by default (tests that do not need it).
   */
  auth?: boolean;
  /** Called for every request that completes, for logs. */
  onRequest?: (r: { method: string; path: string; status: number; ms: number }) => void;
}

export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-spiderpool-embedded",
  gitCommit: "embedded",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "none",
  compiler: "node",
  platform: `${process.platform}/${process.arch}`,
};
