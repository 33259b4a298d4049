// Bundles each daemon into one ESM file under dist/, as images ship them (ARCHITECTURE.md:
// "esbuild bundles for images"): no type stripping and no module resolution at start, one
// compiled file instead of some two hundred. Measured on the 1000-pod storm, the agent's
// peak RSS went 167 → 139 MB and its start from ~1 s to 0.3 s of CPU (docs/performance.md).
// Run by the daemons' launchers when the bundle is stale (scripts/daemon.sh); by hand:
// `node scripts/build-dist.ts [spiderpool-agent|spiderpool-controller|spiderpool-init]`.
import { build, type Plugin } from "esbuild";
import { readFileSync } from "node:fs";
import { renamedErrorClasses } from "./bundle-names.ts";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/**
 * `import … from "node:x"` as a require() of it. Node's ES module face of a built-in reads
 * every export once, getters included, and node:http's getters (WebSocket, MessageEvent,
 * CloseEvent) load Node's internal undici: some 10 MB of RSS in each daemon for classes it
 * never uses (measured: a bare `import "node:http"` costs 5 MB of heap and 6 MB of touched
 * binary; a require() of it, 1 MB). Each plain property is exported by name; one behind a
 * getter is not, so importing one fails the build rather than loading it behind our back.
 */
const builtinsViaRequire: Plugin = {
  name: "builtins-via-require",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      // The virtual module's own require() of the built-in stays what it is.
      if (args.namespace === "builtin") return { path: args.path, external: true };
      return { path: args.path, namespace: "builtin" };
    });
    b.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => {
      const mod = require(args.path) as Record<string, unknown>;
      const names = Object.keys(mod).filter((k) => {
        const d = Object.getOwnPropertyDescriptor(mod, k);
        return d !== undefined && "value" in d && /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default";
      });
      const contents = [
        `const m = require(${JSON.stringify(args.path)});`,
        "export default m;",
        ...names.map((n) => `export const ${n} = m.${n};`),
      ].join("\n");
      return { contents, loader: "js" };
    });
  },
};

export const BUNDLES: Record<string, string> = {
  "spiderpool-agent": "src/agent/main.ts",
  "spiderpool-controller": "src/controller/main.ts",
  "spiderpool-init": "src/cli/init-main.ts",
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
    // whitespace it is half the size. Identifiers are not minified, so stack traces still
    // read. Names are not "kept": that wraps every closure the code creates in a call that
    // defines its name, 3 % of the agent's CPU per ADD in a profile; the one name that
    // matters, an error class's, is checked below instead.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: false,
    charset: "ascii",
    legalComments: "none",
    logLevel: "warning",
    plugins: [builtinsViaRequire],
    // CommonJS dependencies (pino, prom-client) call require() for built-ins.
    banner: {
      js: "import { createRequire as __spiderpoolRequire } from 'node:module'; const require = __spiderpoolRequire(import.meta.url);",
    },
  });
  const renamed = renamedErrorClasses(readFileSync(join(ROOT, "dist", `${name}.mjs`), "utf8"));
  if (renamed.length > 0) {
    process.stderr.write(
      `build-dist: error classes the bundler renamed, whose name would read wrong in logs: ${renamed.join(", ")}\n` +
        "  (a class referring to itself from its own body, or two classes of one name: rename one, or move the reference out)\n",
    );
    process.exit(1);
  }
}
