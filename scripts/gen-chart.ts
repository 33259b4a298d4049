// Writes the chart's generated parts: charts/spiderpool/README.md from values.yaml's @param
// comments and charts/spiderpool/crds/ from deploy/crds/. The drift test
// (test/integration/chart.test.ts) fails until they match.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHART_DIR, expectedCrds, renderChartReadme } from "./chart-docs.ts";

writeFileSync(
  join(CHART_DIR, "README.md"),
  await renderChartReadme(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")),
);
console.log("wrote charts/spiderpool/README.md");
const crdDir = join(CHART_DIR, "crds");
mkdirSync(crdDir, { recursive: true });
const crds = expectedCrds();
for (const f of readdirSync(crdDir)) if (!crds.has(f)) rmSync(join(crdDir, f));
for (const [f, text] of crds) writeFileSync(join(crdDir, f), text);
console.log(`wrote charts/spiderpool/crds/ (${crds.size} CRDs)`);
