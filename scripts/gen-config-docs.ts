// Writes docs/configuration.md from the code (scripts/config-docs.ts); the drift test
// (scripts/config-docs.test.ts) fails until it matches.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./chart-docs.ts";
import { renderConfigurationDoc } from "./config-docs.ts";

writeFileSync(join(ROOT, "docs", "configuration.md"), await renderConfigurationDoc());
console.log("wrote docs/configuration.md");
