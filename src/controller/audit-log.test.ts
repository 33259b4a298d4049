// The audit log's file: rotation by size keeps N files, loses and splits no line, and the
// pool watch and the GC feed it one line per change.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Registry } from "prom-client";
import { auditFiles, PoolAudit, readAuditLog, RotatingLineFile } from "./audit-log.ts";

describe("audit log file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "audit-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("rotates by size, keeps N old files, and loses or splits no line of those kept", () => {
    const path = join(dir, "audit.jsonl");
    const f = new RotatingLineFile({ path, maxBytes: 1024, keep: 3 });
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ n: i, pad: "x".repeat(i % 40) }));
    for (const l of lines) f.append(l);
    f.close();
    const files = auditFiles(path);
    assert.deepEqual(files, [`${path}.3`, `${path}.2`, `${path}.1`, path]);
    for (const file of files) assert.ok(statSync(file).size <= 1024, `${file} is over the limit`);
    const kept = files.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== ""),
    );
    // What is kept is exactly the newest lines, in order, each whole: the oldest files went, nothing else.
    assert.ok(kept.length > 20);
    assert.deepEqual(kept, lines.slice(lines.length - kept.length));
    for (const file of files) assert.ok(readFileSync(file, "utf8").endsWith("\n"), `${file} ends mid-line`);
  });

  it("continues an existing file after a restart, counting its size", () => {
    const path = join(dir, "audit.jsonl");
    writeFileSync(path, `${"y".repeat(900)}\n`);
    const f = new RotatingLineFile({ path, maxBytes: 1000, keep: 2 });
    f.append("z".repeat(200));
    f.close();
    assert.equal(readFileSync(`${path}.1`, "utf8"), `${"y".repeat(900)}\n`);
    assert.equal(readFileSync(path, "utf8"), `${"z".repeat(200)}\n`);
  });

  it("a line longer than the limit is written whole", () => {
    const path = join(dir, "audit.jsonl");
    const f = new RotatingLineFile({ path, maxBytes: 1024, keep: 1 });
    f.append("a");
    f.append("b".repeat(3000));
    f.close();
    assert.equal(readFileSync(path, "utf8"), `${"b".repeat(3000)}\n`);
    assert.equal(readFileSync(`${path}.1`, "utf8"), "a\n");
  });

  it("pool updates and GC reclaims become lines; the reclaim's echo is not a second line; a torn line is skipped", () => {
    const path = join(dir, "audit.jsonl");
    let now = Date.parse("2026-12-07T10:00:00Z");
    const audit = new PoolAudit(
      new RotatingLineFile({ path, maxBytes: 1 << 20, keep: 2 }),
      () => now,
      new Registry(),
      (e) => {
        throw e;
      },
    );
    const pool = (records: Record<string, [string, string]>) => ({
      metadata: { name: "web" },
      status: {
        allocatedIPs: JSON.stringify(
          Object.fromEntries(Object.entries(records).map(([ip, [pod, podUid]]) => [ip, { pod, podUid }])),
        ),
      },
    });
    const v0 = pool({});
    const v1 = pool({ "192.0.2.10": ["app/a", "ua"] });
    const v2 = pool({ "192.0.2.10": ["app/b", "ub"] });
    const v3 = pool({});
    audit.poolUpdated(v0, v1);
    now += 1000;
    audit.poolUpdated(v1, v2);
    now += 1000;
    audit.reclaimed("app/b", "ub", "web", ["192.0.2.10"], "PodMissing");
    audit.poolUpdated(v2, v3);
    audit.close();
    writeFileSync(path, readFileSync(path, "utf8") + '{"time":"2026-12-07T10:0');
    const { records, unreadable } = readAuditLog(path);
    assert.equal(unreadable, 1);
    assert.deepEqual(
      records.map((r) => [r.time.slice(11, 19), r.action, r.pod, r.address, r.rule]),
      [
        ["10:00:00", "allocate", "app/a", "192.0.2.10", ""],
        ["10:00:01", "release", "app/a", "192.0.2.10", ""],
        ["10:00:01", "allocate", "app/b", "192.0.2.10", ""],
        ["10:00:02", "reclaim", "app/b", "192.0.2.10", "PodMissing"],
      ],
    );
  });
});
