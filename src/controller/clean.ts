/**
 * `spiderpool-controller clean`: what the chart's pre-delete hook runs, so that an
 * uninstall never leaves webhook configurations behind whose server is gone (the API server
 * would then refuse every Spider* write with failurePolicy Fail). Already-absent
 * configurations are fine: a retried hook must succeed.
 */
import type { KubeClient } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { Resources } from "../kube/resources.ts";

export interface CleanTargets {
  validating: string;
  mutating: string;
}

/** Deletes both configurations; returns the names that were there. */
export async function cleanWebhooks(client: KubeClient, t: CleanTargets): Promise<string[]> {
  const removed: string[] = [];
  const targets = [
    [Resources.validatingwebhookconfigurations, t.validating],
    [Resources.mutatingwebhookconfigurations, t.mutating],
  ] as const;
  for (const [rt, name] of targets) {
    if (name === "") continue;
    try {
      await client.delete(rt, name);
      removed.push(`${rt.kind}/${name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return removed;
}
