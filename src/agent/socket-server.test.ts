import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeAnswer, SocketServer, type SocketRequest } from "./socket-server.ts";

const CRLF = "\r\n";

/** Writes `parts` (pausing between them), optionally half-closes, and returns all that came back. */
function exchange(path: string, parts: string[], opts: { halfClose?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(path);
    let got = "";
    c.on("data", (b) => (got += b.toString("latin1")));
    c.on("error", reject);
    c.on("close", () => resolve(got));
    c.on("connect", async () => {
      for (const p of parts) {
        c.write(p);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (opts.halfClose === true) c.end();
    });
  });
}

describe("SocketServer", () => {
  let dir: string;
  let path: string;
  let server: SocketServer;
  const seen: SocketRequest[] = [];
  const errors: unknown[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "socket-server-"));
    path = join(dir, "agent.sock");
    server = new SocketServer(
      async (req) => {
        seen.push(req);
        if (req.path === "/throw") throw new Error("handler broke");
        if (req.path === "/null") return Promise.reject(null as unknown as Error);
        if (req.path === "/slow") await new Promise((r) => setTimeout(r, 50));
        return { status: 200, body: JSON.stringify({ echo: req.body }), headers: { "x-cni-exit-code": "0" } };
      },
      { maxBody: 64, requestMs: 300, onError: (e) => errors.push(e) },
    );
    await server.listen(path);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads a request with a Content-Length, whatever the pieces, and answers it with the close", async () => {
    const body = '{"cniVersion":"1.0.0"}';
    const head = `POST /v1/cni/ipam?a=1&b=2 HTTP/1.1${CRLF}Host: spiderpool-agent${CRLF}X-CNI-Command: ADD${CRLF}Content-Length: ${body.length}${CRLF}Connection: close${CRLF}${CRLF}`;
    const got = await exchange(path, [head.slice(0, 10), head.slice(10), body.slice(0, 5), body.slice(5)]);
    const req = seen.at(-1)!;
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/v1/cni/ipam");
    assert.equal(req.query, "a=1&b=2");
    assert.deepEqual(req.headers.slice(2, 4), ["X-CNI-Command", "ADD"]);
    assert.equal(req.body, body);
    const answer = JSON.stringify({ echo: body });
    assert.equal(
      got,
      `HTTP/1.1 200 OK${CRLF}Content-Type: application/json${CRLF}Content-Length: ${answer.length}${CRLF}Connection: close${CRLF}x-cni-exit-code: 0${CRLF}${CRLF}${answer}`,
    );
  });

  it("answers 100 Continue to a client that expects it, and reads a chunked body", async () => {
    const got = await exchange(path, [
      `POST /x HTTP/1.1${CRLF}Expect: 100-continue${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`,
      `3${CRLF}abc${CRLF}2${CRLF}de${CRLF}0${CRLF}${CRLF}`,
    ]);
    assert.ok(got.startsWith(`HTTP/1.1 100 Continue${CRLF}${CRLF}HTTP/1.1 200 OK${CRLF}`), got);
    assert.equal(seen.at(-1)!.body, "abcde");
  });

  it("still answers a client that shut its side after the request; bytes after the request are not read", async () => {
    const n = seen.length;
    const got = await exchange(path, [`GET /slow HTTP/1.1${CRLF}${CRLF}GET /other HTTP/1.1${CRLF}${CRLF}`], {
      halfClose: true,
    });
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.deepEqual(
      seen.slice(n).map((r) => r.path),
      ["/slow"],
    );
  });

  it("refuses a body over the limit (413) and a malformed request (400) without calling the handler", async () => {
    const n = seen.length;
    const big = await exchange(path, [`POST /x HTTP/1.1${CRLF}Content-Length: 65${CRLF}${CRLF}${"x".repeat(65)}`]);
    assert.match(big, /^HTTP\/1\.1 413 Content Too Large\r\n/);
    assert.match(big, /request body larger than 64 bytes/);
    const bad = await exchange(path, [`POST /a b c HTTP/1.1${CRLF}${CRLF}`]);
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(bad, /bad request line/);
    assert.equal(seen.length, n);
  });

  it("answers 500 when the handler throws, and reports it", async () => {
    const got = await exchange(path, [`GET /throw HTTP/1.1${CRLF}${CRLF}`]);
    assert.match(got, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.match(got, /handler broke/);
    assert.equal((errors.at(-1) as Error).message, "handler broke");
    // Not even an Error: still a 500 with its text, and the connection closed.
    const nothing = await exchange(path, [`GET /null HTTP/1.1${CRLF}${CRLF}`]);
    assert.match(nothing, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.ok(nothing.endsWith('\r\n\r\n"null"'), nothing);
  });

  it("sends 100 Continue only to an HTTP/1.1 client, and refuses an announced body over the limit before it comes", async () => {
    const n = seen.length;
    const old = await exchange(path, [
      `POST /x HTTP/1.0${CRLF}Expect: 100-continue${CRLF}Content-Length: 2${CRLF}${CRLF}`,
      "ab",
    ]);
    assert.match(old, /^HTTP\/1\.1 200 OK\r\n/);
    const big = await exchange(path, [
      `POST /x HTTP/1.1${CRLF}Expect: 100-continue${CRLF}Content-Length: 1000${CRLF}${CRLF}`,
    ]);
    assert.match(big, /^HTTP\/1\.1 413 Content Too Large\r\n/);
    assert.equal(seen.length, n + 1);
  });

  it("closes a connection whose request does not arrive whole in time, and one cut short", async () => {
    const t0 = performance.now();
    const got = await exchange(path, [`POST /x HTTP/1.1${CRLF}Content-Length: 10${CRLF}${CRLF}abc`]);
    assert.equal(got, "");
    assert.ok(performance.now() - t0 >= 250);
    const cut = await exchange(path, [`POST /x HTTP/1.1${CRLF}Content-Length: 10${CRLF}${CRLF}abc`], {
      halfClose: true,
    });
    assert.equal(cut, "");
  });

  it("close() ends connections still open", async () => {
    const dir2 = mkdtempSync(join(tmpdir(), "socket-server-"));
    const s = new SocketServer(async () => ({ status: 200, body: "" }), {
      maxBody: 64,
      requestMs: 60_000,
      onError: () => {},
    });
    await s.listen(join(dir2, "a.sock"));
    const pending = exchange(join(dir2, "a.sock"), [`POST /x HTTP/1.1${CRLF}`]);
    await new Promise((r) => setTimeout(r, 20));
    await s.close();
    assert.equal(await pending, "");
    rmSync(dir2, { recursive: true, force: true });
  });
});

describe("encodeAnswer", () => {
  it("refuses a header that would split the answer", () => {
    assert.throws(() => encodeAnswer({ status: 200, body: "", headers: { a: `b${CRLF}c: d` } }), TypeError);
    assert.equal(
      encodeAnswer({ status: 404, body: "" }).toString(),
      `HTTP/1.1 404 Not Found${CRLF}Content-Type: application/json${CRLF}Content-Length: 0${CRLF}Connection: close${CRLF}${CRLF}`,
    );
  });
});
