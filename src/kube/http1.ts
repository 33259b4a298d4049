/**
 * The reading half of an HTTP/1.1 client: a response parser fed the bytes of one
 * connection as they arrive. It hands out the head once, then the body as slices of the
 * buffers it was fed (never copied or joined), whatever the framing: Content-Length,
 * chunked, or up to the close of the connection. The same parser reads requests for the
 * agent's unix socket (RequestParser), whose one request shape node:http served at twice
 * the cost of parsing it.
 *
 * Why our own: node:http costs the agent 0.25 ms of CPU for a request that a bare socket
 * carries for 0.13, and 0.5 ms to take in a half-megabyte answer that a bare socket reads
 * for 0.2; every ADD makes two requests and reads a pool's status twice (bench:http,
 * docs/performance.md). The protocol subset an API server speaks is small and is all here.
 */

/** The status line and headers of an answer; `raw` is name, value, name, value… as sent. */
export interface Head {
  /** 0 for a request. */
  status: number;
  raw: string[];
  /** A request's method, target and HTTP version, as sent. */
  method?: string;
  target?: string;
  version?: "1.0" | "1.1";
}

export interface ParserSink {
  head(h: Head): void;
  body(piece: Buffer): void;
  /** The answer is complete; `reusable`: the connection may carry another request. */
  end(reusable: boolean): void;
}

/** A server broke the protocol: the connection cannot be trusted for another byte. */
export class HttpProtocolError extends Error {
  override readonly name = "HttpProtocolError";
}

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

// Where the parser is in an answer.
const HEAD = 0;
const FIXED = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILER = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;

/** A method is a token (RFC 9110 §9.1); a target has no spaces or controls. */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\s\u0000-\u001f\u007f]+) HTTP\/1\.([01])$/;

export class ResponseParser {
  readonly #sink: ParserSink;
  readonly #bodyless: boolean;
  readonly #request: boolean;
  #state: number = HEAD;
  /** Head bytes or the current chunk-size or trailer line, while they span pieces. */
  #pending: Buffer | undefined;
  #remaining = 0;
  #keepAlive = false;
  /** The server sent its head; from then on a closed connection is a truncated answer, not a refused request. */
  #started = false;

  /**
   * `bodyless`: the request was a HEAD, whose answer has no body whatever its headers say.
   * `request`: read a request instead of an answer (see RequestParser).
   */
  constructor(sink: ParserSink, bodyless = false, request = false) {
    this.#sink = sink;
    this.#bodyless = bodyless;
    this.#request = request;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /** Any byte of an answer has arrived. */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Takes the next bytes of the connection. Returns how many belong to this answer: bytes
   * past its end are the caller's (a server that sends them unasked has broken the protocol).
   */
  feed(buf: Buffer): number {
    if (buf.length > 0) this.#started = true;
    let at = 0;
    while (at < buf.length && this.#state !== DONE) {
      switch (this.#state) {
        case HEAD:
          at = this.#readHead(buf, at);
          break;
        case FIXED:
          at = this.#emit(buf, at);
          if (this.#remaining === 0) this.#finish(this.#keepAlive);
          break;
        case CHUNK_SIZE: {
          const line = this.#line(buf, at);
          if (line === undefined) return buf.length;
          at = line.next;
          const size = line.text.split(";", 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new HttpProtocolError(`bad chunk size ${JSON.stringify(size)}`);
          this.#remaining = parseInt(size, 16);
          this.#state = this.#remaining === 0 ? TRAILER : CHUNK_DATA;
          break;
        }
        case CHUNK_DATA:
          at = this.#emit(buf, at);
          if (this.#remaining === 0) this.#state = CHUNK_END;
          break;
        case CHUNK_END: {
          const line = this.#line(buf, at);
          if (line === undefined) return buf.length;
          if (line.text !== "") throw new HttpProtocolError("chunk longer than its size");
          at = line.next;
          this.#state = CHUNK_SIZE;
          break;
        }
        case TRAILER: {
          // Trailer fields are read past, not kept: an API server sends none.
          const line = this.#line(buf, at);
          if (line === undefined) return buf.length;
          at = line.next;
          if (line.text === "") this.#finish(this.#keepAlive);
          break;
        }
        case UNTIL_CLOSE:
          this.#sink.body(at === 0 ? buf : buf.subarray(at));
          at = buf.length;
          break;
      }
    }
    return at;
  }

  /** The connection closed. Ends an answer that runs to the close; any other unfinished answer is truncated. */
  eof(): void {
    if (this.#state === DONE) return;
    if (this.#state === UNTIL_CLOSE) {
      this.#finish(false);
      return;
    }
    const what = this.#request ? "request" : "answer";
    throw new HttpProtocolError(
      this.#started ? `connection closed before the ${what} was complete` : `connection closed before any ${what}`,
    );
  }

  /** Hands out up to the body bytes still due from `at`, as a slice; returns where it stopped. */
  #emit(buf: Buffer, at: number): number {
    const n = Math.min(this.#remaining, buf.length - at);
    this.#sink.body(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n));
    this.#remaining -= n;
    return at + n;
  }

  #finish(reusable: boolean): void {
    this.#state = DONE;
    this.#sink.end(reusable);
  }

  /** One CRLF-terminated line from `at`, joined with what earlier pieces held of it. */
  #line(buf: Buffer, at: number): { text: string; next: number } | undefined {
    const nl = buf.indexOf(10, at);
    if (nl < 0) {
      const rest = buf.subarray(at);
      this.#pending = this.#pending === undefined ? Buffer.from(rest) : Buffer.concat([this.#pending, rest]);
      if (this.#pending.length > MAX_LINE) throw new HttpProtocolError("line too long");
      return undefined;
    }
    let text = buf.toString("latin1", at, nl);
    if (this.#pending !== undefined) {
      text = this.#pending.toString("latin1") + text;
      this.#pending = undefined;
    }
    if (!text.endsWith("\r")) throw new HttpProtocolError("line not ended by CRLF");
    return { text: text.slice(0, -1), next: nl + 1 };
  }

  #readHead(buf: Buffer, at: number): number {
    let all: Buffer;
    let base: number;
    if (this.#pending === undefined) {
      all = buf;
      base = at;
    } else {
      // The end marker may straddle the pieces: search from where the earlier ones ended, less three bytes.
      all = Buffer.concat([this.#pending, buf.subarray(at)]);
      base = 0;
    }
    const end = all.indexOf(CRLF2, Math.max(base, (this.#pending?.length ?? 0) - 3));
    if (end < 0) {
      this.#pending = Buffer.from(all.subarray(base));
      if (this.#pending.length > MAX_HEAD) throw new HttpProtocolError("answer head larger than 64 KiB");
      return buf.length;
    }
    const held = this.#pending?.length ?? 0;
    this.#pending = undefined;
    this.#head(all.toString("latin1", base, end));
    // Where the body starts in `buf`: past the marker, less the bytes that came from earlier pieces.
    return all === buf ? end + 4 : at + end + 4 - held;
  }

  #head(text: string): void {
    const lines = text.split("\r\n");
    const first = lines[0] ?? "";
    let minor: string;
    let status = 0;
    let request: { method: string; target: string } | undefined;
    if (this.#request) {
      const m = REQUEST_LINE.exec(first);
      if (m === null) throw new HttpProtocolError(`bad request line ${JSON.stringify(first.slice(0, 80))}`);
      request = { method: m[1] as string, target: m[2] as string };
      minor = m[3] as string;
    } else {
      const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(first);
      if (m === null) throw new HttpProtocolError(`bad status line ${JSON.stringify(first.slice(0, 80))}`);
      minor = m[1] as string;
      status = Number(m[2]);
    }
    const raw: string[] = [];
    let length: string | undefined;
    let chunked = false;
    let otherCoding = false;
    let close = minor === "0";
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const colon = l.indexOf(":");
      if (colon <= 0 || l[0] === " " || l[0] === "\t")
        throw new HttpProtocolError(`bad header line ${JSON.stringify(l.slice(0, 80))}`);
      const name = l.slice(0, colon);
      const value = l.slice(colon + 1).trim();
      raw.push(name, value);
      switch (name.toLowerCase()) {
        case "content-length":
          if (length !== undefined && length !== value) throw new HttpProtocolError("conflicting Content-Length");
          length = value;
          break;
        case "transfer-encoding":
          chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          if (!chunked) {
            otherCoding = true;
            close = true;
          }
          break;
        case "connection":
          if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) close = true;
          else if (minor === "0" && /(?:^|,)\s*keep-alive\s*(?:,|$)/i.test(value)) close = false;
          break;
      }
    }
    if (request !== undefined) {
      // A request's body is framed by its length or by chunks; without either it has none
      // (RFC 9112 §6.3), and a coding that is not chunked leaves its end unknown.
      if (otherCoding) throw new HttpProtocolError("a request body must be chunked or have a Content-Length");
      this.#keepAlive = !close;
      this.#sink.head({
        status: 0,
        raw,
        method: request.method,
        target: request.target,
        version: minor === "0" ? "1.0" : "1.1",
      });
      this.#frame(chunked, length ?? "0");
      return;
    }
    // An interim answer (100 Continue, 103 Early Hints) precedes the real one.
    if (status >= 100 && status < 200 && status !== 101) return;
    this.#keepAlive = !close;
    this.#sink.head({ status, raw });
    if (this.#bodyless || status === 204 || status === 304 || status === 101) {
      this.#finish(this.#keepAlive && status !== 101);
    } else if (chunked || length !== undefined) {
      this.#frame(chunked, length);
    } else {
      this.#state = UNTIL_CLOSE;
    }
  }

  /** Reads the body that follows as chunks, or as `length` bytes. */
  #frame(chunked: boolean, length: string | undefined): void {
    if (chunked) {
      this.#state = CHUNK_SIZE;
      return;
    }
    if (length === undefined || !/^\d{1,15}$/.test(length))
      throw new HttpProtocolError(`bad Content-Length ${JSON.stringify(length)}`);
    this.#remaining = Number(length);
    if (this.#remaining === 0) this.#finish(this.#keepAlive);
    else this.#state = FIXED;
  }
}

/** A request parser: as ResponseParser, for the server's side of a connection. */
export class RequestParser extends ResponseParser {
  constructor(sink: ParserSink) {
    super(sink, false, true);
  }
}

/** Every value of header `name` (lower case) in a raw list (name, value, name, value…). */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as string).length === name.length && (raw[i] as string).toLowerCase() === name)
      out.push(raw[i + 1] as string);
  return out;
}

/** The request line and headers, as the bytes that go on the wire. */
export function requestHead(
  method: string,
  path: string,
  host: string,
  headers: Readonly<Record<string, string>>,
  bodyLength: number | undefined,
): string {
  if (!/^[A-Z]+$/.test(method)) throw new TypeError(`bad method ${JSON.stringify(method)}`);
  if (!path.startsWith("/") || /[\s\u0000-\u001f\u007f]/.test(path))
    throw new TypeError(`bad request path ${JSON.stringify(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name] as string;
    // A CR or LF in a value would let it write further headers of its own.
    if (/[\r\n\u0000]/.test(value) || !goodName(name)) throw new TypeError(`bad header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  if (bodyLength !== undefined) head += `Content-Length: ${bodyLength}\r\n`;
  return `${head}\r\n`;
}

/** Header names seen valid: a client sends the same few on every request. */
const goodNames = new Set<string>();

function goodName(name: string): boolean {
  if (goodNames.has(name)) return true;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return false;
  if (goodNames.size < 256) goodNames.add(name);
  return true;
}
