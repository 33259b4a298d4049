// The C CNI shim against a stand-in agent on a unix socket: forwarding, its own answers
// (VERSION, agent unreachable or silent → code 11), and a fuzz run of the sanitizer build.
// Needs gcc (the test command builds the shim); without it the suite is reported as not run.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";

const BUILD = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "shim", "build");
const SHIM = join(BUILD, "spiderpool");
const ASAN = join(BUILD, "spiderpool-asan");
const skip = existsSync(SHIM) ? false : "the shim is not built (gcc missing?)";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(bin: string, stdin: string | Buffer, env: Record<string, string>, argv0?: string): Promise<Result> {
  return new Promise((resolveRun) => {
    const t0 = performance.now();
    const child = spawn(bin, [], { env, argv0: argv0 ?? bin, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolveRun({ code, stdout, stderr, ms: performance.now() - t0 }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe("CNI shim", { skip }, () => {
  let dir: string;
  let sock: string;
  let server: Server;
  let handler: Handler = (_req, _body, res) => res.end();
  const seen: Array<{ url: string; headers: IncomingMessage["headers"]; body: string }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "shim-"));
    sock = join(dir, "agent.sock");
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ url: req.url ?? "", headers: req.headers, body });
        handler(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const conf = (extra = ""): string =>
    `{"cniVersion":"0.4.0","name":"net","ipam":{"type":"spiderpool","ipam_unix_socket_path":"${sock}"${extra}}}`;
  const cniEnv = (cmd: string): Record<string, string> => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: "c0ffee",
    CNI_NETNS: "/var/run/netns/test",
    CNI_IFNAME: "eth0",
    CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
    CNI_PATH: "/opt/cni/bin",
  });

  it("answers VERSION itself, with the netconf's cniVersion", async () => {
    const r = await run(SHIM, '{"cniVersion":"0.3.1"}', { CNI_COMMAND: "VERSION" });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: "0.3.1",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("forwards the command, CNI variables and stdin; relays stdout and the exit code", async () => {
    handler = (_req, _body, res) => {
      const body = '{"cniVersion":"0.4.0","ips":[]}\n';
      res.writeHead(200, { "x-cni-exit-code": "0", "content-type": "application/json", "content-length": body.length });
      res.end(body);
    };
    const r = await run(SHIM, conf(), cniEnv("ADD"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '{"cniVersion":"0.4.0","ips":[]}\n');
    const last = seen[seen.length - 1];
    assert.equal(last?.url, "/v1/cni/ipam");
    assert.equal(last?.headers["x-cni-command"], "ADD");
    assert.equal(last?.headers["x-cni-containerid"], "c0ffee");
    assert.equal(last?.headers["x-cni-netns"], "/var/run/netns/test");
    assert.equal(last?.headers["x-cni-ifname"], "eth0");
    assert.equal(last?.headers["x-cni-args"], "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0");
    assert.equal(last?.headers["x-cni-path"], "/opt/cni/bin");
    assert.equal(last?.body, conf());
  });

  it("chooses its role from argv[0]", async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { "x-cni-exit-code": "0", "content-length": 2 });
      res.end("{}");
    };
    for (const [name, role] of [
      ["coordinator", "coordinator"],
      ["ifacer", "ifacer"],
      ["spiderpool", "ipam"],
    ]) {
      await run(join(BUILD, name as string), conf(), cniEnv("ADD"), `/opt/cni/bin/${name}`);
      assert.equal(seen[seen.length - 1]?.url, `/v1/cni/${role}`);
    }
  });

  it("relays an agent's CNI error and its exit code", async () => {
    handler = (_req, _body, res) => {
      const body = '{"cniVersion":"0.4.0","code":999,"msg":"spiderpool IP allocation error"}';
      res.writeHead(500, { "x-cni-exit-code": "1", "content-length": body.length });
      res.end(body);
    };
    const r = await run(SHIM, conf(), cniEnv("ADD"));
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).code, 999);
  });

  it("agent unreachable: CNI error code 11, try again later, with the reason", async () => {
    const r = await run(SHIM, conf().replace(sock, join(dir, "missing.sock")), cniEnv("ADD"));
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout) as { cniVersion: string; code: number; msg: string; details: string };
    assert.equal(e.cniVersion, "0.4.0");
    assert.equal(e.code, 11);
    assert.equal(e.msg, "try again later");
    assert.match(e.details, /spiderpool-agent unreachable at .*missing.sock: No such file or directory/);
  });

  it("agent silent: gives up at the deadline with code 11", async () => {
    handler = () => undefined;
    const r = await run(SHIM, conf(), { ...cniEnv("ADD"), SPIDERPOOL_SHIM_TIMEOUT_MS: "300" });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).details, "spiderpool-agent did not answer in time");
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it("a runtime that never closes stdin gets an error at the deadline, not a hang", async () => {
    const r = await new Promise<Result>((resolveRun) => {
      const t0 = performance.now();
      const child = spawn(SHIM, [], {
        env: { CNI_COMMAND: "VERSION", SPIDERPOOL_SHIM_TIMEOUT_MS: "300" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stdin.on("error", () => undefined);
      child.stdin.write('{"cniVersion":"1.0.0"'); // and never end
      child.on("close", (code) => {
        child.stdin.destroy();
        resolveRun({ code, stdout, stderr: "", ms: performance.now() - t0 });
      });
    });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).details, "stdin was not closed before the deadline");
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it("an exit code outside 0..255 from the agent is a failure, never a wrapped 0", async () => {
    for (const bad of ["256", "-1", "x"]) {
      handler = (_req, _body, res) => {
        const body = '{"cniVersion":"0.4.0","code":999,"msg":"boom"}';
        res.writeHead(500, { "x-cni-exit-code": bad, "content-length": body.length });
        res.end(body);
      };
      const r = await run(SHIM, conf(), cniEnv("ADD"));
      assert.equal(r.code, 1, `X-CNI-Exit-Code: ${bad}`);
    }
  });

  it("takes the socket path from the ipam object only, and never echoes a strange cniVersion", async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { "x-cni-exit-code": "0", "content-length": 2 });
      res.end("{}");
    };
    const decoy = `{"cniVersion":"0.4.0","name":"net","args":{"ipam_unix_socket_path":"${join(dir, "decoy.sock")}"},"ipam":{"type":"spiderpool","ipam_unix_socket_path":"${sock}"}}`;
    const ok = await run(SHIM, decoy, cniEnv("ADD"));
    assert.equal(ok.code, 0, ok.stdout);
    const r = await run(SHIM, '{"cniVersion":"9.9\u0001"}', { ...cniEnv("ADD"), CNI_COMMAND: "" });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).cniVersion, "1.0.0", "the default, as valid JSON");
  });

  it("refuses a chunked answer instead of relaying it garbled", async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { "x-cni-exit-code": "0" });
      res.end("{}");
    };
    const r = await run(SHIM, conf(), cniEnv("ADD"));
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).details, "chunked answer from spiderpool-agent");
  });

  it("refuses CR/LF in CNI variables and a missing CNI_COMMAND", async () => {
    const r = await run(SHIM, conf(), { ...cniEnv("ADD"), CNI_IFNAME: "eth0\r\nX-Evil: 1" });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).code, 4);
    const m = await run(SHIM, conf(), {});
    assert.equal(JSON.parse(m.stdout).details, "CNI_COMMAND is not set");
  });

  it(
    "fuzz: never crashes or hangs, whatever stdin, environment and agent answers (sanitizer build)",
    { skip: existsSync(ASAN) ? false : "no sanitizer build" },
    async () => {
      const answers: Array<(res: ServerResponse) => void> = [
        (res) => res.end(),
        (res) => res.socket?.destroy(),
        (res) => {
          res.writeHead(200, { "x-cni-exit-code": "not-a-number" });
          res.end("x".repeat(70_000));
        },
        (res) => {
          res.writeHead(503);
          res.end();
        },
        (res) => {
          res.writeHead(200, { "x-cni-exit-code": "7" });
          res.end("\u0000binary\u00ff");
        },
        (res) => {
          res.socket?.end("garbage without http\r\n\r\n");
        },
      ];
      const junk = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString("latin1")),
        fc.constantFrom(
          '{"ipam_unix_socket_path":',
          '{"ipam_unix_socket_path":"',
          `{"ipam_unix_socket_path":"${"a".repeat(200)}"}`,
          '{"ipam_unix_socket_path":"a\\"b"}',
          '{"cniVersion":"' + "9".repeat(100) + '"}',
          '{"cniVersion":',
          "",
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          junk,
          fc.nat({ max: answers.length - 1 }),
          fc.constantFrom("ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", ""),
          fc.boolean(),
          async (text, ai, cmd, useSock) => {
            handler = (_req, _body, res) => (answers[ai] as (r: ServerResponse) => void)(res);
            const stdin = useSock ? conf().slice(0, -2) + text : text;
            const r = await run(ASAN, stdin, { ...cniEnv(cmd), SPIDERPOOL_SHIM_TIMEOUT_MS: "2000" });
            assert.ok(r.code === 0 || (r.code !== null && r.code > 0 && r.code < 128), `exit ${r.code}: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/, r.stderr);
            assert.ok(r.ms < 8000, `took ${r.ms} ms`);
          },
        ),
        { numRuns: 250 },
      );
    },
  );
});

// Sanity of the harness: a build that is present must also be static.
describe("CNI shim build", { skip }, () => {
  it("is a static binary", () => {
    const file = spawnSync("file", [SHIM], { encoding: "utf8" });
    if (file.error !== undefined) return;
    assert.match(file.stdout, /statically linked/);
  });
});
