/**
 * What to do about one SpiderMultusConfig's NAD (node-networking §3.4), decided from the
 * SMC and the NAD as last read: pure, so every branch is a table row in the tests. The
 * executor (`controller.ts`) writes what this decides, preconditioned on the NAD it read.
 */
import type { OwnerReference } from "../../api/meta.ts";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import { NAD_GROUP, NAD_VERSION, type NetworkAttachmentDefinition } from "../../api/nad.ts";
import { desiredNad, NadConfigError } from "./nad-config.ts";

export type NadPlan =
  | { kind: "skip" }
  | { kind: "none" }
  | { kind: "create"; nad: NetworkAttachmentDefinition }
  | { kind: "update"; nad: NetworkAttachmentDefinition }
  /** The NAD is being deleted: retry until it is gone, then create. */
  | { kind: "wait"; message: string }
  /** Nothing this controller may write: the SMC's input is wrong or the NAD is another SMC's. */
  | { kind: "refuse"; reason: "InvalidConfig" | "NadOwnedByOther"; message: string };

const SMC_API_VERSION = "spiderpool.spidernet.io/v2beta1";

export function ownedByOtherMessage(namespace: string, nad: string, owner: string): string {
  return `the net-attach-def ${namespace}/${nad} already exists and is managed by SpiderMultusConfig ${namespace}/${owner}.`;
}

function ownerRef(smc: SpiderMultusConfig): OwnerReference {
  return {
    apiVersion: SMC_API_VERSION,
    kind: "SpiderMultusConfig",
    name: smc.metadata.name ?? "",
    uid: smc.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function sameAnnotations(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  // As upstream's reflect.DeepEqual: no annotations and empty annotations differ.
  if (a === undefined) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return sameJson(ka, kb) && ka.every((k) => a[k] === b[k]);
}

export function planNad(smc: SpiderMultusConfig, existing: NetworkAttachmentDefinition | undefined): NadPlan {
  if (smc.metadata.deletionTimestamp !== undefined) return { kind: "skip" };
  let want;
  try {
    want = desiredNad(smc);
  } catch (err) {
    if (err instanceof NadConfigError) return { kind: "refuse", reason: "InvalidConfig", message: err.message };
    throw err;
  }
  const mine = ownerRef(smc);
  const spec = want.config !== undefined ? { config: want.config } : {};
  if (existing === undefined) {
    return {
      kind: "create",
      nad: {
        apiVersion: `${NAD_GROUP}/${NAD_VERSION}`,
        kind: "NetworkAttachmentDefinition",
        metadata: {
          name: want.name,
          namespace: want.namespace,
          annotations: want.annotations,
          ownerReferences: [mine],
        },
        spec,
      },
    };
  }
  if (existing.metadata.deletionTimestamp !== undefined)
    return {
      kind: "wait",
      message: `the old net-attach-def ${want.namespace}/${want.name} is terminating, wait for a while`,
    };
  const refs = existing.metadata.ownerReferences ?? [];
  // An SMC of the same name with another uid is this SMC's earlier life: its NAD is taken
  // over rather than left to the garbage collector. Any other SMC keeps what it owns.
  const other = refs.find((r) => r.kind === "SpiderMultusConfig" && r.controller === true && r.name !== mine.name);
  if (other !== undefined)
    return {
      kind: "refuse",
      reason: "NadOwnedByOther",
      message: ownedByOtherMessage(want.namespace, want.name, other.name),
    };
  const owned = refs.some((r) => r.uid === mine.uid && r.controller === true);
  const config = existing.spec?.config;
  if (owned && config === want.config && sameAnnotations(existing.metadata.annotations, want.annotations))
    return { kind: "none" };
  const keep = refs.filter((r) => !(r.kind === "SpiderMultusConfig" && r.name === mine.name) && r.controller !== true);
  return {
    kind: "update",
    nad: {
      ...existing,
      metadata: { ...existing.metadata, annotations: want.annotations, ownerReferences: [...keep, mine] },
      spec: want.config === undefined ? withoutConfig(existing.spec) : { ...existing.spec, config: want.config },
    },
  };
}

function withoutConfig(spec: NetworkAttachmentDefinition["spec"]): NonNullable<NetworkAttachmentDefinition["spec"]> {
  const s = { ...spec };
  delete s.config;
  return s;
}
