import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { BodyTooLargeError, readBody } from "./read-body.ts";

/** Posts `size` bytes to a loopback server that reads them with `readBody(req, cap)`. */
async function post(size: number, cap: number): Promise<Buffer | Error> {
  let result: Promise<Buffer>;
  const server = createServer((req: IncomingMessage, res) => {
    result = readBody(req, cap);
    result.then(
      () => res.end("ok"),
      () => undefined,
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((done) => {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/" }, (res) => {
        res.resume();
        res.on("end", done);
      });
      // The server destroys an over-cap request: the client sees the socket go.
      req.on("error", () => done());
      req.end(Buffer.alloc(size, 0x61));
    });
    return await result!.catch((err: Error) => err);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test("a body within the cap is returned whole", async () => {
  const got = await post(1000, 1000);
  assert.ok(Buffer.isBuffer(got));
  assert.equal(got.length, 1000);
  assert.equal(got.toString(), "a".repeat(1000));
});

test("a body over the cap is refused with BodyTooLargeError, not buffered", async () => {
  const got = await post(64 * 1024, 1000);
  assert.ok(got instanceof BodyTooLargeError);
  assert.equal(got.code, "ERR_BODY_TOO_LARGE");
  assert.equal(got.maxBytes, 1000);
});
