/**
 * The scheduler's decision, pure: a pod without a node goes to a Ready, schedulable node
 * whose labels match its nodeSelector (and its required node affinity's matchExpressions
 * on labels), the least loaded first, ties by name; or nowhere, with the reason
 * kube-scheduler would give.
 */
import { isNodeReady } from "./node-status.ts";
import type { NodeObj, PodObj } from "./workload-types.ts";

export type Placement = { node: string } | { unschedulable: string };

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function matchesAffinity(pod: PodObj, labels: Record<string, string>): boolean {
  const terms = (
    pod.spec?.["affinity"] as
      | {
          nodeAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: {
              nodeSelectorTerms?: Array<{ matchExpressions?: Requirement[] }>;
            };
          };
        }
      | undefined
  )?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined || terms.length === 0) return true;
  // Terms are ORed, a term's expressions ANDed.
  return terms.some((t) =>
    (t.matchExpressions ?? []).every((e) => {
      const v = labels[e.key];
      switch (e.operator) {
        case "In":
          return v !== undefined && (e.values ?? []).includes(v);
        case "NotIn":
          return v === undefined || !(e.values ?? []).includes(v);
        case "Exists":
          return v !== undefined;
        case "DoesNotExist":
          return v === undefined;
        default:
          return false;
      }
    }),
  );
}

export function placePod(pod: PodObj, nodes: readonly NodeObj[], podsOnNode: (node: string) => number): Placement {
  const selector = pod.spec?.nodeSelector ?? {};
  const fits = nodes.filter((n) => {
    const labels = n.metadata.labels ?? {};
    return (
      isNodeReady(n) &&
      n.spec?.unschedulable !== true &&
      Object.entries(selector).every(([k, v]) => labels[k] === v) &&
      matchesAffinity(pod, labels)
    );
  });
  if (fits.length === 0) {
    const notReady = nodes.filter((n) => !isNodeReady(n)).length;
    const parts = [
      ...(notReady > 0 ? [`${notReady} node(s) had untolerated taint {node.kubernetes.io/not-ready: }`] : []),
      ...(nodes.length - notReady > 0
        ? [`${nodes.length - notReady} node(s) didn't match Pod's node affinity/selector`]
        : []),
    ];
    return { unschedulable: `0/${nodes.length} nodes are available: ${parts.join(", ")}.` };
  }
  const best = [...fits].sort(
    (a, b) =>
      podsOnNode(a.metadata.name ?? "") - podsOnNode(b.metadata.name ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  )[0] as NodeObj;
  return { node: best.metadata.name ?? "" };
}
