// Sums the per-level counts written by test-summary-reporter.ts and prints the closing line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir = ".", checksFailedText = "0"] = process.argv.slice(2);
const checksFailed = Number(checksFailedText);
const total = { passed: 0, failed: 0, skipped: 0, todo: 0 };
for (const name of readdirSync(dir)
  .filter((f) => f.startsWith("level-") && f.endsWith(".json"))
  .sort()) {
  const text = readFileSync(join(dir, name), "utf8").trim();
  const c = JSON.parse(text || "{}") as Partial<typeof total>;
  const level = name.slice("level-".length, -".json".length);
  let exit = 0;
  try {
    exit = Number(readFileSync(join(dir, `exit-${level}`), "utf8").trim());
  } catch {
    // No exit file: the level did not run.
  }
  if (exit !== 0 && (c.failed ?? 0) === 0) {
    console.log(`level ${level}: the test runner exited with ${exit} without reporting a failed test`);
    c.failed = 1;
  }
  console.log(
    `level ${level}: ${c.passed ?? 0} passed, ${c.failed ?? 0} failed, ${(c.skipped ?? 0) + (c.todo ?? 0)} not run`,
  );
  total.passed += c.passed ?? 0;
  total.failed += c.failed ?? 0;
  total.skipped += (c.skipped ?? 0) + (c.todo ?? 0);
}
if (checksFailed > 0) console.log(`${checksFailed} check(s) failed`);
const failed = total.failed + checksFailed;
console.log(`tests: ${total.passed} passed, ${failed} failed, ${total.skipped} skipped`);
process.exit(failed > 0 || total.passed === 0 ? 1 : 0);
