/**
 * A pod from a workload's template, as each controller stamps it: the template's labels and
 * annotations plus the controller's own, and a controller reference back to the owner (which
 * is how the sandbox's controllers find their pods, and how garbage collection removes them).
 */
import { createHash } from "node:crypto";
import type { PodObj, WorkloadObj } from "./workload-types.ts";

/** kube's SafeEncodeString alphabet: no vowels, no look-alikes, so a hash never spells a word. */
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/** A short, stable hash of a pod template (kube's pod-template-hash and controller-revision-hash play this part). */
export function templateHash(template: unknown): string {
  const digest = createHash("sha256")
    .update(JSON.stringify(template ?? {}))
    .digest();
  let out = "";
  for (let i = 0; i < 10; i++) out += SAFE[(digest[i] as number) % SAFE.length];
  return out;
}

/** Five characters as generateName adds them. */
export function randomSuffix(random: () => number = Math.random): string {
  let out = "";
  for (let i = 0; i < 5; i++) out += SAFE[Math.floor(random() * SAFE.length)];
  return out;
}

export function podFromTemplate(
  owner: WorkloadObj,
  name: string,
  extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {},
): PodObj {
  const t = owner.spec?.template ?? {};
  const annotations = t.metadata?.annotations;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: owner.metadata.namespace ?? "default",
      labels: { ...(t.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(annotations !== undefined ? { annotations: { ...annotations } } : {}),
      ownerReferences: [
        {
          apiVersion: owner.apiVersion ?? "",
          kind: owner.kind ?? "",
          name: owner.metadata.name ?? "",
          uid: owner.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        } as never,
      ],
    },
    spec: { ...(t.spec ?? {}), ...(extra.spec ?? {}) },
  };
}
