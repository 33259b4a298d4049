/**
 * CRDs brought up to this controller's schemas at start: Helm installs `crds/` once and
 * never upgrades them, so after `helm upgrade` the API server would keep validating against
 * the old schemas (users ask upstream for exactly this). Only our six kinds: the
 * NetworkAttachmentDefinition CRD belongs to Multus as much as to us. A CRD written by a
 * newer controller (its annotation names a later version) is left alone, so the old pods of
 * a rolling upgrade never downgrade it. Absent CRDs are not created: that is the installer's
 * job, and creating cannot be restricted to our names in RBAC.
 */
import type { Logger } from "pino";
import { toCrd, type CustomResourceDefinition } from "../api/crd.ts";
import { SPIDER_KINDS } from "../api/kinds.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { Resources } from "../kube/resources.ts";

export const CRD_VERSION_ANNOTATION = "spiderpool.spidernet.io/crd-version";

export type CrdPlan =
  { action: "keep"; reason: "up-to-date" | "newer" } | { action: "absent" } | { action: "update"; next: KubeObject };

/** -1, 0, 1 for dotted numeric versions; anything unparsable counts as older. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): number[] | undefined => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
    return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? -1 : 1;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  return 0;
}

/** Every field of `want` is in `have` with the same value (the server adds defaults of its own). */
export function covers(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(have[i], w));
  }
  if (want !== null && typeof want === "object") {
    if (have === null || typeof have !== "object" || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, w]) => covers((have as Record<string, unknown>)[k], w));
  }
  return have === want;
}

export function planCrdUpgrade(
  current: KubeObject | undefined,
  wanted: CustomResourceDefinition,
  version: string,
): CrdPlan {
  if (current === undefined) return { action: "absent" };
  const annotations = (current.metadata?.["annotations"] ?? {}) as Record<string, string>;
  const theirs = annotations[CRD_VERSION_ANNOTATION];
  if (theirs !== undefined && compareVersions(theirs, version) > 0) return { action: "keep", reason: "newer" };
  if (covers(current["spec"], wanted.spec)) return { action: "keep", reason: "up-to-date" };
  return {
    action: "update",
    next: {
      ...current,
      metadata: {
        ...current.metadata,
        annotations: { ...annotations, [CRD_VERSION_ANNOTATION]: version },
      },
      spec: wanted.spec,
    },
  };
}

/**
 * Upgrades each of our CRDs that is older than this controller (`version`: the image's and
 * chart's VERSION); failures are logged, not fatal.
 */
export async function upgradeCrds(client: KubeClient, log: Logger, version: string): Promise<string[]> {
  const updated: string[] = [];
  for (const def of SPIDER_KINDS) {
    const wanted = toCrd(def);
    const name = wanted.metadata.name;
    try {
      for (let attempt = 1; ; attempt++) {
        const current = await client.get(Resources.customresourcedefinitions, name).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        const plan = planCrdUpgrade(current, wanted, version);
        if (plan.action === "absent") {
          log.warn(
            { crd: name },
            "CRD not installed; install the chart's crds/ (kubectl apply -f charts/spiderpool/crds/)",
          );
          break;
        }
        if (plan.action === "keep") break;
        try {
          await client.update(Resources.customresourcedefinitions, plan.next);
          updated.push(name);
          log.info({ crd: name, version }, "CRD upgraded to this controller's schema");
          break;
        } catch (err) {
          if (!isConflict(err) || attempt >= 3) throw err;
        }
      }
    } catch (err) {
      log.warn({ err, crd: name }, "CRD upgrade failed; the API server keeps the installed schema");
    }
  }
  return updated;
}
