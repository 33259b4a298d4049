import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { checkTree, fileCycles, importsOf } from "./check-deps.ts";

describe("dependency-direction check", () => {
  const root = mkdtempSync(join(tmpdir(), "deps-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  };

  it("finds static, re-export, side-effect and dynamic imports", () => {
    const text = `import a from "./a.ts";\nexport { b } from '../b/b.ts';\nimport "./c.ts";\nconst d = await import("./d.ts");\n// import x from "./commented.ts";\nimport type { T } from "typebox";`;
    assert.deepEqual(importsOf(text), ["./a.ts", "../b/b.ts", "./c.ts", "./d.ts", "typebox"]);
  });

  it("accepts the allowed direction and rejects the reverse", () => {
    write("ip/a.ts", `import { x } from "../errors/base.ts";\n`);
    write("errors/base.ts", `export const x = 1;\n`);
    write("ipam/core.ts", `import { x } from "../api/k.ts";\nimport { Type } from "typebox";\n`);
    write("api/k.ts", `export const x = 1;\n`);
    assert.deepEqual(checkTree(root), []);

    write("ip/bad.ts", `import { x } from "../api/k.ts";\n`);
    write("ipam/io.ts", `import { readFileSync } from "node:fs";\n`);
    write("api/cli-user.ts", `import { main } from "../cli/main.ts";\n`);
    write("cli/main.ts", `export const main = 1;\n`);
    write("api/noext.ts", `import { x } from "./k";\n`);
    const found = checkTree(root).map((v) => `${v.file}: ${v.reason}`);
    assert.ok(found.includes("ip/bad.ts: src/ip may not depend on src/api (allowed: errors)"), found.join("\n"));
    assert.ok(found.includes("ipam/io.ts: src/ipam is pure: it may not import 'node:fs'"), found.join("\n"));
    assert.ok(
      found.some((f) => f.startsWith("api/cli-user.ts: src/api may not depend on src/cli")),
      found.join("\n"),
    );
    assert.ok(found.includes("api/noext.ts: relative imports name the .ts file"), found.join("\n"));
  });

  it("rejects folders missing from the table", () => {
    write("mystery/x.ts", `export {};\n`);
    assert.ok(checkTree(root).some((v) => v.reason === "folder src/mystery is not in the dependency table"));
  });

  it("refuses import cycles between files, type-only imports included", () => {
    const cyc = mkdtempSync(join(tmpdir(), "deps-cycle-"));
    try {
      const put = (rel: string, text: string): void => {
        mkdirSync(dirname(join(cyc, rel)), { recursive: true });
        writeFileSync(join(cyc, rel), text);
      };
      put("ipam/a.ts", `import { b } from "./b.ts";\nexport const a = 1;\n`);
      put("ipam/b.ts", `import type { C } from "./c.ts";\nexport const b = 1;\n`);
      put("ipam/c.ts", `import { a } from "./a.ts";\nexport type C = number;\n`);
      put("ipam/d.ts", `import { a } from "./a.ts";\n`);
      assert.deepEqual(fileCycles(cyc), [["ipam/a.ts", "ipam/b.ts", "ipam/c.ts", "ipam/a.ts"]]);
      assert.ok(
        checkTree(cyc).some((v) => v.reason === "import cycle: ipam/a.ts -> ipam/b.ts -> ipam/c.ts -> ipam/a.ts"),
      );
      put("ipam/c.ts", `export type C = number;\n`);
      assert.deepEqual(fileCycles(cyc), []);
    } finally {
      rmSync(cyc, { recursive: true, force: true });
    }
  });
});
