import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { headerValues, HttpProtocolError, RequestParser, requestHead, ResponseParser, type Head } from "./http1.ts";

interface Parsed {
  heads: Head[];
  body: Buffer;
  ends: boolean[];
  used: number;
}

/** Feeds `wire` cut at `cuts`, then the connection's close when `eof`. */
function parse(
  wire: Buffer,
  cuts: number[] = [],
  opts: { eof?: boolean; bodyless?: boolean; request?: boolean } = {},
): Parsed {
  const out: Parsed = { heads: [], body: Buffer.alloc(0), ends: [], used: 0 };
  const pieces: Buffer[] = [];
  const sink = {
    head: (h: Head) => out.heads.push(h),
    body: (b: Buffer) => pieces.push(Buffer.from(b)),
    end: (r: boolean) => out.ends.push(r),
  };
  const p = opts.request === true ? new RequestParser(sink) : new ResponseParser(sink, opts.bodyless === true);
  let at = 0;
  for (const c of [...cuts.filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b), wire.length]) {
    if (c <= at) continue;
    const piece = wire.subarray(at, c);
    const n = p.done ? 0 : p.feed(piece);
    out.used += n;
    at = c;
  }
  if (opts.eof === true) p.eof();
  out.body = Buffer.concat(pieces);
  return out;
}

const CRLF = "\r\n";

function chunked(body: Buffer, sizes: number[], trailer = ""): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < body.length) {
    const n = Math.max(1, Math.min(sizes[i++ % Math.max(1, sizes.length)] ?? 1, body.length - at));
    parts.push(
      Buffer.from(`${n.toString(16)}${i % 3 === 0 ? ";ext=1" : ""}${CRLF}`),
      body.subarray(at, at + n),
      Buffer.from(CRLF),
    );
    at += n;
  }
  parts.push(Buffer.from(`0${CRLF}${trailer}${CRLF}`));
  return Buffer.concat(parts);
}

describe("ResponseParser", () => {
  it("reads a Content-Length answer and leaves the bytes after it to the caller", () => {
    const wire = Buffer.from(
      `HTTP/1.1 200 OK${CRLF}Content-Type: application/json${CRLF}Content-Length: 5${CRLF}${CRLF}hello` + "HTTP/1.1 ",
    );
    const r = parse(wire);
    assert.equal(r.heads.length, 1);
    assert.equal(r.heads[0]?.status, 200);
    assert.deepEqual(r.heads[0]?.raw, ["Content-Type", "application/json", "Content-Length", "5"]);
    assert.equal(r.body.toString(), "hello");
    assert.deepEqual(r.ends, [true]);
    assert.equal(r.used, wire.length - "HTTP/1.1 ".length);
  });

  it("gives the same head, body and reuse, however the bytes are cut (every framing)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom("length", "chunked", "close"),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        (bytes, framing, sizes, cutsRaw, interim) => {
          const body = Buffer.from(bytes);
          const pre = interim ? `HTTP/1.1 100 Continue${CRLF}${CRLF}` : "";
          let wire: Buffer;
          if (framing === "length")
            wire = Buffer.concat([
              Buffer.from(`${pre}HTTP/1.1 201 Created${CRLF}Content-Length: ${body.length}${CRLF}${CRLF}`),
              body,
            ]);
          else if (framing === "chunked")
            wire = Buffer.concat([
              Buffer.from(`${pre}HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`),
              chunked(body, sizes, `X-Trailer: 1${CRLF}`),
            ]);
          else wire = Buffer.concat([Buffer.from(`${pre}HTTP/1.1 200 OK${CRLF}Connection: close${CRLF}${CRLF}`), body]);
          const cuts = cutsRaw.map((c) => c % (wire.length + 1));
          const r = parse(wire, cuts, { eof: framing === "close" });
          assert.equal(r.heads.length, 1);
          assert.equal(r.heads[0]?.status, framing === "length" ? 201 : 200);
          assert.deepEqual(r.body, body);
          assert.deepEqual(r.ends, [framing !== "close"]);
          assert.equal(r.used, wire.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("cut at every byte, a chunked answer with extensions and trailers comes out whole", () => {
    const body = Buffer.from('{"type":"ADDED","object":{"metadata":{"name":"pool-a"}}}\n');
    const wire = Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`),
      chunked(body, [7, 1, 30], `A: b${CRLF}C: d${CRLF}`),
    ]);
    for (let cut = 1; cut < wire.length; cut++) {
      const r = parse(wire, [cut, cut + 1, cut + 5]);
      assert.deepEqual(r.body, body, `cut at ${cut}`);
      assert.deepEqual(r.ends, [true], `cut at ${cut}`);
    }
  });

  it("ends bodyless answers at their head: 204, 304, and any answer to HEAD", () => {
    assert.deepEqual(parse(Buffer.from(`HTTP/1.1 204 No Content${CRLF}${CRLF}`)).ends, [true]);
    assert.deepEqual(parse(Buffer.from(`HTTP/1.1 304 Not Modified${CRLF}Content-Length: 10${CRLF}${CRLF}`)).ends, [
      true,
    ]);
    const head = parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Content-Length: 10${CRLF}${CRLF}`), [], { bodyless: true });
    assert.deepEqual(head.ends, [true]);
    assert.equal(head.body.length, 0);
  });

  it("marks the connection spent when the server says so or the framing needs the close", () => {
    assert.deepEqual(
      parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Connection: close${CRLF}Content-Length: 0${CRLF}${CRLF}`)).ends,
      [false],
    );
    assert.deepEqual(parse(Buffer.from(`HTTP/1.0 200 OK${CRLF}Content-Length: 0${CRLF}${CRLF}`)).ends, [false]);
    assert.deepEqual(
      parse(Buffer.from(`HTTP/1.0 200 OK${CRLF}Connection: keep-alive${CRLF}Content-Length: 0${CRLF}${CRLF}`)).ends,
      [true],
    );
    // A coding other than chunked last: the body runs to the close.
    const gz = parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Transfer-Encoding: gzip${CRLF}${CRLF}abc`), [], { eof: true });
    assert.deepEqual(gz.ends, [false]);
    assert.equal(gz.body.toString(), "abc");
  });

  it("refuses what breaks the protocol, and an answer cut short by the close", () => {
    const bad = [
      `HTTP/2 200 OK${CRLF}${CRLF}`,
      `HTTP/1.1 20 OK${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}No colon here${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}A: 1${CRLF} folded${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Content-Length: 3${CRLF}Content-Length: 4${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Content-Length: -1${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}zz${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}2${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}2\nab${CRLF}`,
    ];
    for (const w of bad) assert.throws(() => parse(Buffer.from(w)), HttpProtocolError, JSON.stringify(w));
    assert.throws(
      () => parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}${"X: y".padEnd(70_000, "y")}`)),
      /larger than 64 KiB/,
    );
    assert.throws(
      () => parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Content-Length: 10${CRLF}${CRLF}abc`), [], { eof: true }),
      /before the answer was complete/,
    );
    assert.throws(() => parse(Buffer.alloc(0), [], { eof: true }), /before any answer/);
  });
});

describe("RequestParser", () => {
  it("gives the same request line, headers and body however the bytes are cut (length, chunked, none)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom("length", "chunked", "none"),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (bytes, framing, sizes, cutsRaw) => {
          const body = framing === "none" ? Buffer.alloc(0) : Buffer.from(bytes);
          const head = `POST /v1/cni/ipam?x=1 HTTP/1.1${CRLF}Host: spiderpool-agent${CRLF}X-CNI-Command: ADD${CRLF}`;
          const wire =
            framing === "length"
              ? Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}${CRLF}${CRLF}`), body])
              : framing === "chunked"
                ? Buffer.concat([Buffer.from(`${head}Transfer-Encoding: chunked${CRLF}${CRLF}`), chunked(body, sizes)])
                : Buffer.from(`${head}${CRLF}`);
          // Bytes after the request (a pipelined one) are left to the caller.
          const r = parse(
            Buffer.concat([wire, Buffer.from("GET / HTTP/1.1")]),
            cutsRaw.map((c) => c % (wire.length + 15)),
            {
              request: true,
            },
          );
          assert.equal(r.heads.length, 1);
          assert.equal(r.heads[0]?.method, "POST");
          assert.equal(r.heads[0]?.target, "/v1/cni/ipam?x=1");
          assert.deepEqual(headerValues(r.heads[0]?.raw ?? [], "x-cni-command"), ["ADD"]);
          assert.deepEqual(r.body, body);
          assert.deepEqual(r.ends, [true]);
          assert.equal(r.used, wire.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a bad request line and a body whose end cannot be known", () => {
    for (const w of [
      `HTTP/1.1 200 OK${CRLF}${CRLF}`,
      `POST /a b HTTP/1.1${CRLF}${CRLF}`,
      `POST /a HTTP/2${CRLF}${CRLF}`,
      `PO ST /a HTTP/1.1${CRLF}${CRLF}`,
      `POST /a HTTP/1.1${CRLF}Transfer-Encoding: gzip${CRLF}${CRLF}`,
      `POST /a HTTP/1.1${CRLF}Content-Length: x${CRLF}${CRLF}`,
    ])
      assert.throws(() => parse(Buffer.from(w), [], { request: true }), HttpProtocolError, JSON.stringify(w));
    assert.throws(
      () =>
        parse(Buffer.from(`POST /a HTTP/1.1${CRLF}Content-Length: 9${CRLF}${CRLF}abc`), [], {
          request: true,
          eof: true,
        }),
      /before the request was complete/,
    );
  });
});

describe("requestHead", () => {
  it("writes the request line, Host, the headers and the body's length", () => {
    assert.equal(
      requestHead("PUT", "/api/v1/x?a=b", "127.0.0.1:6443", { accept: "application/json" }, 12),
      `PUT /api/v1/x?a=b HTTP/1.1${CRLF}Host: 127.0.0.1:6443${CRLF}accept: application/json${CRLF}Content-Length: 12${CRLF}${CRLF}`,
    );
    assert.equal(requestHead("GET", "/", "h", {}, undefined), `GET / HTTP/1.1${CRLF}Host: h${CRLF}${CRLF}`);
  });

  it("refuses a header value or path that would write a request of its own", () => {
    assert.throws(() => requestHead("GET", "/", "h", { a: `x${CRLF}b: y` }, undefined), TypeError);
    assert.throws(() => requestHead("GET", "/", "h", { "a b": "x" }, undefined), TypeError);
    assert.throws(() => requestHead("GET", "/a b", "h", {}, undefined), TypeError);
    assert.throws(() => requestHead("GET", "x", "h", {}, undefined), TypeError);
    assert.throws(() => requestHead("get it", "/", "h", {}, undefined), TypeError);
  });
});

describe("headerValues", () => {
  it("returns every value of a header in order, whatever the case of its name, commas kept", () => {
    const raw = [
      "Content-Type",
      "application/json",
      "Warning",
      '299 - "spec.foo: unknown field, ignored"',
      "warning",
      '299 - "second"',
      "Retry-After",
      "3",
    ];
    assert.deepEqual(headerValues(raw, "warning"), ['299 - "spec.foo: unknown field, ignored"', '299 - "second"']);
    assert.deepEqual(headerValues(raw, "retry-after"), ["3"]);
    assert.deepEqual(headerValues(raw, "x-missing"), []);
    // A name that only shares a prefix is another header.
    assert.deepEqual(headerValues(["Warnings", "x"], "warning"), []);
  });
});
