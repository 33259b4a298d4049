// Exit 0 when node_modules holds exactly what package-lock.json pins (name@version of
// every package), so the test command can skip a slow `npm ci` on a warm tree.
import { readFileSync } from "node:fs";

interface Lock {
  packages?: Record<string, { version?: string; optional?: boolean }>;
}

function read(path: string): Lock | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Lock;
  } catch {
    return undefined;
  }
}

const want = read("package-lock.json")?.packages ?? {};
const have = read("node_modules/.package-lock.json")?.packages ?? {};
for (const [path, meta] of Object.entries(want)) {
  if (path === "") continue;
  // Optional packages for other platforms (native binaries) are never installed here.
  if (meta.optional === true && have[path] === undefined) continue;
  if (have[path]?.version !== meta.version) {
    console.log(`differs: ${path}`);
    process.exit(1);
  }
}
