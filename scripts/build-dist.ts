// Bundles each daemon into one ESM file under dist/, as images ship them (ARCHITECTURE.md:
// "esbuild bundles for images"): no type stripping and no module resolution at start, one
// compiled file instead of some two hundred. Measured on the 1000-pod storm, the agent's
// peak RSS went 167 → 139 MB and its start from ~1 s to 0.3 s of CPU (docs/performance.md).
// Run by the daemons' launchers when the bundle is stale (scripts/daemon.sh); by hand:
// `node scripts/build-dist.ts [spiderpool-agent|spiderpool-controller]`.
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const BUNDLES: Record<string, string> = {
  "spiderpool-agent": "src/agent/main.ts",
  "spiderpool-controller": "src/controller/main.ts",
};

const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : Object.keys(BUNDLES)) {
  const entry = BUNDLES[name];
  if (entry === undefined) {
    process.stderr.write(`build-dist: unknown bundle '${name}' (known: ${Object.keys(BUNDLES).join(", ")})\n`);
    process.exit(2);
  }
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: join(ROOT, "dist", `${name}.mjs`),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    sourcemap: "linked",
    // The bundle's text stays in the heap for lazy compilation: without comments and
    // whitespace it is half the size. Names are kept, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    charset: "ascii",
    legalComments: "none",
    logLevel: "warning",
    // CommonJS dependencies (pino, prom-client) call require() for built-ins.
    banner: {
      js: "import { createRequire as __spiderpoolRequire } from 'node:module'; const require = __spiderpoolRequire(import.meta.url);",
    },
  });
}
