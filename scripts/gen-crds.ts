// Writes deploy/crds/ from the TypeBox schemas in src/api. Run after changing a schema;
// the drift test (src/api/crd.test.ts) fails until the files match.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { crdFileName } from "../src/api/crd.ts";
import { renderCrd } from "../src/api/crd-yaml.ts";
import { ALL_KINDS } from "../src/api/kinds.ts";
import { lintStructural } from "../src/api/structural.ts";
import { openAPIV3Schema } from "../src/api/crd.ts";

const dir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "deploy", "crds");
mkdirSync(dir, { recursive: true });
const keep = new Set<string>();
let failed = false;
for (const def of ALL_KINDS) {
  const problems = lintStructural(openAPIV3Schema(def));
  if (problems.length > 0) {
    failed = true;
    for (const p of problems) console.error(`${def.kind}: ${p.path}: ${p.message}`);
    continue;
  }
  const file = crdFileName(def);
  keep.add(file);
  writeFileSync(join(dir, file), renderCrd(def));
  console.log(`wrote deploy/crds/${file}`);
}
for (const file of readdirSync(dir)) {
  if (file.endsWith(".yaml") && !keep.has(file) && !failed) {
    rmSync(join(dir, file));
    console.log(`removed stale deploy/crds/${file}`);
  }
}
if (failed) process.exit(1);
