// Enforces the direction of dependencies between src/ folders (ARCHITECTURE.md), keeps the
// pure cores pure (src/ip and src/ipam import no I/O), and refuses import cycles between
// files (type-only imports included). Run by scripts/test.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Which src/ folders each src/ folder may import. Anything not listed is refused. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  ip: ["errors"],
  api: ["ip", "errors"],
  ipam: ["api", "ip", "errors"],
  cni: ["api", "ip", "errors"],
  kube: ["api", "errors"],
  host: ["ip", "errors"],
  ifacer: ["host", "cni", "api", "ip", "errors"],
  rdma: ["host", "errors"],
  pki: ["errors"],
  daemon: ["errors"],
  poolstore: ["ipam", "kube", "api", "ip", "errors"],
  apiserver: ["kube", "api", "ip", "pki", "errors"],
  coordinator: ["host", "cni", "api", "ip", "errors"],
  agent: ["daemon", "poolstore", "ipam", "kube", "api", "ip", "cni", "host", "coordinator", "ifacer", "rdma", "errors"],
  controller: ["daemon", "poolstore", "ipam", "kube", "api", "ip", "cni", "pki", "errors"],
  init: ["daemon", "kube", "api", "ip", "errors"],
  cli: [
    "agent",
    "coordinator",
    "controller",
    "init",
    "daemon",
    "apiserver",
    "poolstore",
    "ipam",
    "kube",
    "api",
    "ip",
    "cni",
    "host",
    "pki",
    "errors",
  ],
};

/** Packages (bare specifiers) a folder may import; folders not listed may import any. */
export const PURE_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  ip: [],
  ipam: ["typebox"],
};

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[\s;])import\s*["']([^"']+)["']/g;

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of stripComments(text).matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith(".ts")) yield p;
  }
}

function folderOf(srcRoot: string, file: string): string | undefined {
  const rel = relative(srcRoot, file);
  if (rel.startsWith("..")) return undefined;
  const [first] = rel.split(sep);
  return first === undefined || first === rel ? undefined : first;
}

/** Checks every .ts file under `srcRoot`; test files follow the same rules as the code. */
export function checkTree(srcRoot: string): Violation[] {
  const violations: Violation[] = [];
  for (const file of tsFiles(srcRoot)) {
    const from = folderOf(srcRoot, file);
    const rel = relative(srcRoot, file);
    if (from === undefined) {
      violations.push({ file: rel, specifier: "", reason: "source files live in a src/<folder>/" });
      continue;
    }
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      violations.push({ file: rel, specifier: "", reason: `folder src/${from} is not in the dependency table` });
      continue;
    }
    const isTest = file.endsWith(".test.ts");
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) {
        if (!spec.endsWith(".ts") && !spec.endsWith(".json")) {
          violations.push({ file: rel, specifier: spec, reason: "relative imports name the .ts file" });
        }
        const target = folderOf(srcRoot, resolve(dirname(file), spec));
        if (target === undefined) {
          violations.push({ file: rel, specifier: spec, reason: "imports from outside src/" });
        } else if (target !== from && !allowed.includes(target)) {
          violations.push({
            file: rel,
            specifier: spec,
            reason: `src/${from} may not depend on src/${target} (allowed: ${allowed.join(", ") || "none"})`,
          });
        }
        continue;
      }
      const pure = PURE_PACKAGES[from];
      if (pure !== undefined && !isTest) {
        const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec);
        if (!pure.includes(pkg)) {
          violations.push({ file: rel, specifier: spec, reason: `src/${from} is pure: it may not import '${pkg}'` });
        }
      }
    }
  }
  for (const cycle of fileCycles(srcRoot))
    violations.push({ file: cycle[0] ?? "", specifier: "", reason: `import cycle: ${cycle.join(" -> ")}` });
  return violations;
}

/**
 * Cycles among the files under `srcRoot` by their relative imports (type-only ones too: a
 * cycle of types is still two files that cannot be understood apart). Each cycle once, as
 * paths relative to `srcRoot`, starting and ending at its first file in sorted order.
 */
export function fileCycles(srcRoot: string): string[][] {
  const edges = new Map<string, string[]>();
  for (const file of tsFiles(srcRoot)) {
    const from = relative(srcRoot, file);
    const to = importsOf(readFileSync(file, "utf8"))
      .filter((spec) => spec.startsWith(".") && spec.endsWith(".ts"))
      .map((spec) => relative(srcRoot, resolve(dirname(file), spec)))
      .filter((rel) => !rel.startsWith(".."));
    edges.set(from, to);
  }
  // Tarjan's strongly connected components; a component of more than one file (or a file
  // importing itself) holds a cycle, reported along one path through it.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) !== idx.get(v)) return;
    const comp: string[] = [];
    for (;;) {
      const w = stack.pop() as string;
      on.delete(w);
      comp.push(w);
      if (w === v) break;
    }
    if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(pathThrough(new Set(comp), edges));
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** One cycle inside a strongly connected component, from its first file back to it. */
function pathThrough(comp: ReadonlySet<string>, edges: ReadonlyMap<string, readonly string[]>): string[] {
  const start = [...comp].sort()[0] as string;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of edges.get(v) ?? []) {
      if (!comp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = prev.get(at) as string) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");
  const violations = checkTree(root);
  for (const v of violations) console.error(`src/${v.file}: ${v.specifier ? `'${v.specifier}': ` : ""}${v.reason}`);
  if (violations.length > 0) {
    console.error(`${violations.length} dependency violation(s)`);
    process.exit(1);
  }
  console.log("dependency direction: ok");
}
