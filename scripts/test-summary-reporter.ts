// A node:test reporter that counts leaf tests (not suites) and writes them as JSON, so
// scripts/test can print one closing line across all test levels.
import type { TestEvent } from "node:test/reporters";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
}

export default async function* summaryReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const data = event.data as { details?: { type?: string }; skip?: unknown; todo?: unknown };
    if (data.details?.type === "suite") {
      // A suite that fails without a failing child (a hook threw) must still count.
      if (event.type === "test:fail") counts.failed++;
      continue;
    }
    if (data.skip !== undefined && data.skip !== false) counts.skipped++;
    else if (data.todo !== undefined && data.todo !== false) counts.todo++;
    else if (event.type === "test:pass") counts.passed++;
    else counts.failed++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
