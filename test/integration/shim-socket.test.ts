// The shim's socket rules (issue 16, item 4): a netconf names the socket and NAD authors
// write netconfs, so the shim talks only to a root-owned socket in a directory only root may
// write, served by a root process (SO_PEERCRED); it reads Content-Length bytes instead of
// waiting for the agent to close, and tells an agent that died mid-request from a bad answer.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SHIM = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "shim", "build", "spiderpool");
const skip = existsSync(SHIM) ? false : "the shim is not built (gcc missing?)";

interface Result {
  code: number | null;
  json: { code?: number; msg?: string; details?: string } | undefined;
  stdout: string;
  ms: number;
}

function run(sock: string, env: Record<string, string> = {}): Promise<Result> {
  const conf = `{"cniVersion":"1.0.0","name":"net","ipam":{"type":"spiderpool","ipam_unix_socket_path":"${sock}"}}`;
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(SHIM, [], {
      env: {
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "c1",
        CNI_NETNS: "/x",
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
        SPIDERPOOL_SHIM_TIMEOUT_MS: "3000",
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("close", (code) => {
      let json;
      try {
        json = JSON.parse(stdout) as Result["json"];
      } catch {
        json = undefined;
      }
      done({ code, json, stdout, ms: performance.now() - t0 });
    });
    child.stdin.end(conf);
  });
}

/** A raw server: `answer` gets each connection once its request head and body are in. */
async function rawServer(path: string, answer: (s: Socket) => void): Promise<Server> {
  const srv = createServer((s) => {
    let got = "";
    s.on("data", (c: Buffer) => {
      got += c.toString("latin1");
      const end = got.indexOf("\r\n\r\n");
      const len = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? 0);
      if (end >= 0 && got.length >= end + 4 + len) answer(s);
    });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => srv.listen(path, r));
  return srv;
}

describe("CNI shim: the socket and the answer", { skip }, () => {
  let dir: string;
  const servers: Server[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "shim-sock-"));
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("honours Content-Length: an agent that keeps the connection open is answered at once", async () => {
    const sock = join(dir, "open.sock");
    const body = '{"cniVersion":"1.0.0","ips":[]}';
    servers.push(
      await rawServer(sock, (s) =>
        s.write(`HTTP/1.1 200 OK\r\nX-CNI-Exit-Code: 0\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      ),
    );
    const r = await run(sock);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, body);
    assert.ok(r.ms < 2500, `answered in ${Math.round(r.ms)} ms, not at the 3 s deadline`);
  });

  it("an agent killed mid-request is 'closed without answering', code 11, not a malformed answer", async () => {
    const sock = join(dir, "dies.sock");
    servers.push(await rawServer(sock, (s) => s.destroy()));
    const r = await run(sock);
    assert.equal(r.json?.code, 11, r.stdout);
    assert.match(r.json?.details ?? "", /closed the connection without answering/);
    const half = join(dir, "half.sock");
    servers.push(await rawServer(half, (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cni')));
    const h = await run(half);
    assert.equal(h.json?.code, 11, h.stdout);
    assert.match(h.json?.details ?? "", /before its answer was complete/);
  });

  it("refuses a relative socket path, and one outside SPIDERPOOL_SHIM_SOCKET_DIR (code 7)", async () => {
    const r = await run("run/agent.sock");
    assert.equal(r.json?.code, 7, r.stdout);
    assert.match(r.json?.details ?? "", /must be an absolute path/);
    const up = await run(`${dir}/../x.sock`);
    assert.equal(up.json?.code, 7, up.stdout);
    const out = await run(join(dir, "open.sock"), { SPIDERPOOL_SHIM_SOCKET_DIR: "/var/run/spidernet" });
    assert.equal(out.json?.code, 7, out.stdout);
    assert.match(out.json?.details ?? "", /is outside \/var\/run\/spidernet/);
    const inside = await run(join(dir, "open.sock"), { SPIDERPOOL_SHIM_SOCKET_DIR: `${dir}/` });
    assert.equal(inside.code, 0, inside.stdout);
  });

  it("refuses a socket in a directory others may write (code 7)", async () => {
    const shared = mkdtempSync(join(tmpdir(), "shim-shared-"));
    try {
      const sock = join(shared, "agent.sock");
      servers.push(await rawServer(sock, (s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")));
      chmodSync(shared, 0o777);
      const r = await run(sock);
      assert.equal(r.json?.code, 7, r.stdout);
      assert.match(r.json?.details ?? "", /not a directory owned by root and writable by root alone/);
      chmodSync(shared, 0o700);
      assert.equal((await run(sock)).code, 0);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it(
    "refuses an agent that is not root (SO_PEERCRED), whatever the socket file says",
    { skip: process.getuid?.() === 0 ? false : "needs root to run a server as nobody" },
    async () => {
      const theirs = mkdtempSync(join(tmpdir(), "shim-nobody-"));
      chownSync(theirs, 65534, 65534);
      const child = spawn(
        process.execPath,
        [
          "-e",
          `require("node:net").createServer((s) => s.on("data", () => s.end("HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}"))).listen(${JSON.stringify(join(theirs, "s.sock"))}, () => console.log("ready"))`,
        ],
        { uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "inherit"] },
      );
      try {
        await new Promise<void>((r, j) => {
          child.stdout.on("data", () => r());
          child.on("exit", (code) => j(new Error(`server exited ${code}`)));
        });
        // Moved where root's socket would be and given to root: only the peer's credentials tell.
        const sock = join(dir, "impostor.sock");
        renameSync(join(theirs, "s.sock"), sock);
        chownSync(sock, 0, 0);
        const r = await run(sock);
        assert.equal(r.json?.code, 999, r.stdout);
        assert.match(r.json?.msg ?? "", /not trusted/);
      } finally {
        child.kill();
        rmSync(theirs, { recursive: true, force: true });
      }
    },
  );
});
