// The chart tests' access to a real helm: scripts/helm.sh fetches it into build/tools/ when
// it is missing; when it cannot, the test fails with the script's reason (never a skip).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { RenderedObject } from "./rbac.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHART = join(ROOT, "charts", "spiderpool");
export const HELM = join(ROOT, "build", "tools", "helm");

export function ensureHelm(): string {
  if (existsSync(HELM)) return HELM;
  const r = spawnSync("bash", [join(ROOT, "scripts", "helm.sh")], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0 || !existsSync(HELM)) {
    throw new Error(`helm is not available and scripts/helm.sh could not fetch it: ${r.stderr || r.error?.message}`);
  }
  return HELM;
}

export const RELEASE = "spiderpool";
export const NAMESPACE = "kube-system";

/** `helm template` of the chart with `--set`/`--set-json` arguments; throws with helm's stderr. */
export function template(args: string[] = []): string {
  const helm = ensureHelm();
  return execFileSync(helm, ["template", RELEASE, CHART, "--namespace", NAMESPACE, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

export function objects(rendered: string): RenderedObject[] {
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null && typeof o === "object");
}
