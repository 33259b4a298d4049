/**
 * ServiceAccount tokens for the sandbox's agents and controller, as a kubelet projects them:
 * a TokenRequest per account, written to a file their clients re-read (kube/config.ts), and
 * requested again once 80% of its lifetime has passed, so a sandbox left running for days
 * never hands its components an expired token.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterConfig, KubeClient } from "../../kube/index.ts";

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

export interface TokenFilesOptions {
  /** A client allowed to create `serviceaccounts/token` (the admin's). */
  admin: KubeClient;
  /** The cluster as the components see it; the token file is added per account. */
  cluster: Pick<ClusterConfig, "server" | "ca">;
  dir: string;
  /** Lifetime asked for (default one hour; the API server's minimum is ten minutes). */
  expirationSeconds?: number;
  /** Renew after this long instead of at 80% of the lifetime (tests, which cannot wait minutes). */
  renewAfterMs?: number;
  /** Called when a refresh fails; the old token stays until it expires and the next refresh is tried sooner. */
  onError?: (sa: ServiceAccountRef, err: unknown) => void;
}

/** When to ask again: at 80% of the lifetime, as the kubelet does for projected tokens. */
export function refreshDelayMs(expirationSeconds: number): number {
  return Math.floor(expirationSeconds * 1000 * 0.8);
}

export class ServiceAccountTokens {
  readonly #o: TokenFilesOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(o: TokenFilesOptions) {
    this.#o = o;
  }

  /** Requests the account's first token and returns the cluster config its clients use. */
  async configFor(sa: ServiceAccountRef): Promise<ClusterConfig> {
    const file = join(this.#o.dir, `${sa.namespace}.${sa.name}.token`);
    await this.#refresh(sa, file);
    return { ...this.#o.cluster, tokenFile: file };
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  async #refresh(sa: ServiceAccountRef, file: string): Promise<void> {
    const seconds = this.#o.expirationSeconds ?? 3600;
    const r = await this.#o.admin.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${sa.namespace}/serviceaccounts/${sa.name}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: seconds },
        },
      },
    );
    writeFileSync(file, r.status.token, { mode: 0o600 });
    this.#schedule(sa, file, this.#o.renewAfterMs ?? refreshDelayMs(seconds));
  }

  #schedule(sa: ServiceAccountRef, file: string, delayMs: number): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#refresh(sa, file).catch((err: unknown) => {
        this.#o.onError?.(sa, err);
        // The token in the file has a fifth of its lifetime left: try again well within it.
        this.#schedule(sa, file, Math.min(delayMs, 10_000));
      });
    }, delayMs);
    t.unref();
    this.#timers.set(`${sa.namespace}/${sa.name}`, t);
  }
}
