/**
 * The vocabulary shared by the registry, its strategies and the HTTP layer: operations,
 * write and delete options, what a write answers, and the admission seam.
 */
import type { ServedResource } from "./resources.ts";
import type { Obj } from "./store.ts";

export type Operation = "CREATE" | "UPDATE" | "DELETE";

/** What admission sees and may change; implemented by admission.ts. */
export interface AdmissionRequest {
  operation: Operation;
  resource: ServedResource;
  subresource: string;
  namespace: string;
  name: string;
  object: Obj | undefined;
  oldObject: Obj | undefined;
  dryRun: boolean;
}

export interface Admitter {
  mutate(req: AdmissionRequest): Promise<{ object: Obj | undefined; warnings: string[] }>;
  validate(req: AdmissionRequest): Promise<{ warnings: string[] }>;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: "Ignore" | "Warn" | "Strict";
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WriteResult {
  object: Obj;
  warnings: string[];
  /** 201 for a create, 200 otherwise; DELETE: 202 when the object only got a deletionTimestamp. */
  code: number;
  /** For DELETE that removed the object at once: the Status kube-apiserver answers with. */
  status?: Record<string, unknown>;
}

/** What the synchronous part of a delete did. */
export type DeleteOutcome = Omit<WriteResult, "warnings">;

export interface ListPage {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface RegistryOptions {
  /** "immediate": pods vanish on delete (no kubelet); "graceful": they stay Terminating until deleted with grace 0. */
  podDeletion?: "immediate" | "graceful";
  /** Added before every commit, to model etcd latency. */
  writeLatencyMs?: number;
  historyCapacity?: number;
}
