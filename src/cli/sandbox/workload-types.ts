/** The shapes of the workload objects the sandbox's controllers read (only the fields they use). */
import type { ObjectMeta } from "../../api/meta.ts";

/** The project's one ObjectMeta. */
export type Meta = ObjectMeta;

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export interface PodObj {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: { nodeName?: string; nodeSelector?: Record<string, string>; schedulerName?: string; [k: string]: unknown };
  status?: { phase?: string; podIP?: string; conditions?: Array<{ type?: string; status?: string }> };
}

export interface NodeObj {
  metadata: Meta;
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

export interface WorkloadObj {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: {
    replicas?: number;
    template?: PodTemplate;
    ordinals?: { start?: number };
    podManagementPolicy?: string;
    completions?: number;
    parallelism?: number;
    [k: string]: unknown;
  };
  status?: Record<string, unknown>;
}

/** Pods this object controls, by their controller reference (as adoption leaves them). */
export function ownedBy<T extends { metadata: Meta }>(owner: { metadata: Meta }, objs: readonly T[]): T[] {
  return objs.filter((o) =>
    (o.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === owner.metadata.uid),
  );
}

export const isTerminating = (o: { metadata: Meta }): boolean => o.metadata.deletionTimestamp !== undefined;
export const isFinished = (p: PodObj): boolean => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
export const isRunning = (p: PodObj): boolean => p.status?.phase === "Running" && !isTerminating(p);
