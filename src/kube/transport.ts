/**
 * HTTP/1.1 to one API server over keep-alive connections of our own (http1.ts parses the
 * answers): a bounded pool for requests, taken most-recently-used first, and a connection
 * of its own for each watch. Whole answers come back as the pieces they arrived in, and
 * watches as a stream of pieces.
 *
 * Why not node:http: it costs the agent twice the CPU of a bare socket per request, and
 * takes in a half-megabyte answer for two and a half times what the socket costs; every
 * ADD makes two requests and takes in a pool's status twice (bench:http,
 * docs/performance.md). Why not undici (used first): loading it and compiling its
 * WebAssembly parser cost each daemon about 20 MB of resident memory.
 */
import net from "node:net";
import tls from "node:tls";
import { headerValues, requestHead, ResponseParser, type Head, type ParserSink } from "./http1.ts";

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface Answer {
  status: number;
  /** Every value of one header (lower-case name), in order: Warning may repeat, and its texts hold commas. */
  values(name: string): string[];
  /** The body as it arrived, in pieces: a reader that needs only its head need not join them. */
  chunks: Buffer[];
}

/** An answer whose body is read as it arrives. */
export interface StreamAnswer {
  status: number;
  values(name: string): string[];
  body: AsyncIterable<Buffer>;
  /** Drops the connection; a reader still reading gets an error (the answer was cut short). */
  destroy(): void;
}

/** The whole of a body that arrived in pieces. */
export function joined(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

export interface SendOptions {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Sent one piece after another, never joined. */
  body?: Buffer | readonly Buffer[];
  /** Idle time allowed for the connection while this request waits: no byte for that long fails it. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Kept idle without a hint from the server; its Keep-Alive timeout, less a second, when it sends one. */
const IDLE_MS = 30_000;
/** A watch reader this far behind stops the socket until it catches up. */
const STREAM_HIGH_WATER = 4 * 1024 * 1024;

export class Transport {
  readonly #secure: boolean;
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #tls: TlsOptions;
  /** Built once: the CA and client certificate are parsed for the transport, not for each connection. */
  readonly #secureContext: tls.SecureContext | undefined;
  readonly #max: number;
  /** Connections for requests, busy or idle; watches' are not counted. */
  #open = 0;
  readonly #idle: Connection[] = [];
  readonly #waiting: Array<{ take: (c: Connection | undefined) => void }> = [];
  readonly #all = new Set<Connection>();
  #closed = false;

  constructor(origin: URL, connections: number, tlsOptions: TlsOptions) {
    this.#secure = origin.protocol === "https:";
    this.#host = origin.hostname.replace(/^\[|\]$/g, "");
    this.#port = origin.port !== "" ? Number(origin.port) : this.#secure ? 443 : 80;
    this.#hostHeader = origin.host;
    this.#tls = tlsOptions;
    this.#secureContext = this.#secure
      ? tls.createSecureContext({
          ...(tlsOptions.ca !== undefined ? { ca: tlsOptions.ca } : {}),
          ...(tlsOptions.cert !== undefined ? { cert: tlsOptions.cert } : {}),
          ...(tlsOptions.key !== undefined ? { key: tlsOptions.key } : {}),
        })
      : undefined;
    this.#max = Math.max(1, connections);
  }

  /** Drops every connection: requests and watches in flight fail, later ones are refused. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.take(undefined);
    for (const c of this.#all) c.socket.destroy();
  }

  /** One request, its whole answer read. A reset on a reused idle connection is retried once when the method allows. */
  async send(o: SendOptions): Promise<Answer> {
    try {
      return await this.#sendOnce(o);
    } catch (err) {
      // The server may close an idle keep-alive connection just as a request goes out on it;
      // nothing reached it then. POST and PATCH are not repeated: they may not be idempotent.
      if ((err as RetryHint).retryable === true && o.method !== "POST" && o.method !== "PATCH")
        return this.#sendOnce(o);
      throw err;
    }
  }

  async #sendOnce(o: SendOptions): Promise<Answer> {
    o.signal?.throwIfAborted();
    const body = o.body === undefined ? [] : Buffer.isBuffer(o.body) ? [o.body] : o.body;
    let length: number | undefined;
    if (o.body !== undefined) {
      length = 0;
      for (const b of body) length += b.length;
    } else if (o.method === "POST" || o.method === "PUT" || o.method === "PATCH") length = 0;
    // Before a connection is taken: a request refused here must not hold one.
    const head = requestHead(o.method, o.path, this.#hostHeader, o.headers, length);
    const conn = await this.#acquire(o.signal);
    return new Promise<Answer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let answer: Head | undefined;
      const ex: Exchange = {
        timeoutMs: o.timeoutMs,
        silence: `no answer within ${o.timeoutMs} ms`,
        bodyless: o.method === "HEAD",
        head: (h) => (answer = h),
        body: (b) => chunks.push(b),
        done: (reusable) => {
          cleanup();
          this.#release(conn, reusable, answer);
          const raw = (answer as Head).raw;
          resolve({ status: (answer as Head).status, values: (name) => headerValues(raw, name), chunks });
        },
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      const onAbort = (): void => conn.abort(ex, o.signal?.reason as Error);
      const cleanup = (): void => o.signal?.removeEventListener("abort", onAbort);
      o.signal?.addEventListener("abort", onAbort, { once: true });
      conn.start(ex, head, body);
    });
  }

  /**
   * A long-lived GET whose answer is read as it streams, on a connection of its own. The
   * connection is dropped after `idleMs` without a byte (0: never).
   */
  async stream(o: {
    path: string;
    headers: Record<string, string>;
    headersTimeoutMs: number;
    idleMs: number;
    signal?: AbortSignal;
  }): Promise<StreamAnswer> {
    if (this.#closed) throw new Error("transport closed");
    o.signal?.throwIfAborted();
    const head = requestHead("GET", o.path, this.#hostHeader, o.headers, undefined);
    const conn = this.#connect(false);
    return new Promise<StreamAnswer>((resolve, reject) => {
      const queue = new BodyQueue(conn.socket, () => o.idleMs);
      let answered = false;
      const ex: Exchange = {
        timeoutMs: o.headersTimeoutMs,
        silence: `no answer within ${o.headersTimeoutMs} ms`,
        bodyless: false,
        head: (h) => {
          answered = true;
          // From here the limit is silence on a stream that should carry events or close.
          conn.socket.setTimeout(o.idleMs);
          ex.timeoutMs = o.idleMs;
          ex.silence = `watch silent for ${o.idleMs} ms`;
          const raw = h.raw;
          resolve({
            status: h.status,
            values: (name) => headerValues(raw, name),
            body: queue,
            destroy: () => conn.socket.destroy(),
          });
        },
        body: (b) => queue.push(b),
        done: () => {
          cleanup();
          queue.end();
          conn.socket.destroy();
        },
        fail: (err) => {
          cleanup();
          if (answered) queue.fail(err);
          else reject(err);
        },
      };
      const onAbort = (): void => conn.abort(ex, o.signal?.reason as Error);
      const cleanup = (): void => o.signal?.removeEventListener("abort", onAbort);
      o.signal?.addEventListener("abort", onAbort, { once: true });
      conn.start(ex, head, []);
    });
  }

  #acquire(signal: AbortSignal | undefined): Connection | Promise<Connection> {
    if (this.#closed) throw new Error("transport closed");
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      // One the server has half closed is on its way out: its close event has not run yet.
      if (!c.socket.destroyed && !c.socket.readableEnded) return c;
      c.socket.destroy();
    }
    if (this.#open < this.#max) return this.#connect(true);
    return new Promise<Connection>((resolve, reject) => {
      const w = {
        take: (c: Connection | undefined): void => {
          signal?.removeEventListener("abort", onAbort);
          if (c === undefined) reject(new Error("transport closed"));
          else resolve(c);
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(w);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(w);
    });
  }

  #release(conn: Connection, reusable: boolean, head: Head | undefined): void {
    if (!reusable || this.#closed || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next.take(conn);
      return;
    }
    conn.socket.setTimeout(idleFor(head));
    // An idle connection must not keep a process that is otherwise done alive.
    conn.socket.unref();
    this.#idle.push(conn);
  }

  #connect(pooled: boolean): Connection {
    const socket = this.#secure
      ? tls.connect({
          host: this.#host,
          port: this.#port,
          secureContext: this.#secureContext as tls.SecureContext,
          rejectUnauthorized: this.#tls.rejectUnauthorized !== false,
          // SNI and the certificate's name check: the configured name, else the host unless it is an address.
          ...(this.#tls.servername !== undefined
            ? { servername: this.#tls.servername }
            : net.isIP(this.#host) === 0
              ? { servername: this.#host }
              : {}),
          ALPNProtocols: ["http/1.1"],
        })
      : net.connect({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    if (pooled) this.#open++;
    const conn = new Connection(socket, () => {
      this.#all.delete(conn);
      if (!pooled) return;
      this.#open--;
      const i = this.#idle.indexOf(conn);
      if (i >= 0) this.#idle.splice(i, 1);
      // A request waiting for a connection gets a new one in place of the one that closed.
      const next = this.#closed ? undefined : this.#waiting.shift();
      if (next !== undefined) next.take(this.#connect(true));
    });
    this.#all.add(conn);
    return conn;
  }
}

function idleFor(head: Head | undefined): number {
  const hint = head === undefined ? [] : headerValues(head.raw, "keep-alive");
  const m = /(?:^|,)\s*timeout=(\d+)/i.exec(hint[0] ?? "");
  if (m === null) return IDLE_MS;
  return Math.max(0, Math.min(IDLE_MS, Number(m[1]) * 1000 - 1000)) || 1;
}

/** One request and its answer on a connection. */
interface Exchange {
  timeoutMs: number;
  /** What the failure says when the connection stays silent for `timeoutMs`. */
  silence: string;
  /** A HEAD request: its answer has no body. */
  bodyless: boolean;
  head(h: Head): void;
  body(piece: Buffer): void;
  /** The whole answer arrived (the parser's end): hand it out, give back the connection. */
  done(reusable: boolean): void;
  fail(err: Error): void;
}

/** A socket that carries one exchange at a time; its listeners are set once, not per request. */
class Connection implements ParserSink {
  readonly socket: net.Socket;
  #exchange: Exchange | undefined;
  #parser: ResponseParser | undefined;
  /** Answers completed on it: a failure before the first byte of a later one may be a stale keep-alive. */
  #uses = 0;
  #reusable = false;

  constructor(socket: net.Socket, onClose: () => void) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => this.#data(d));
    socket.on("end", () => this.#end());
    socket.on("timeout", () => {
      const ex = this.#exchange;
      if (ex !== undefined) this.#fail(ex, new Error(ex.silence));
      socket.destroy();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      const ex = this.#exchange;
      if (ex !== undefined) this.#fail(ex, this.#stale(err.code) ? retryable(err) : err);
    });
    socket.on("close", () => {
      const ex = this.#exchange;
      if (ex !== undefined) {
        const err = new Error(
          this.#parser?.started === true
            ? "connection closed before the answer was complete"
            : "connection closed before any answer",
        );
        this.#fail(ex, this.#stale("ECONNRESET") ? retryable(err) : err);
      }
      onClose();
    });
  }

  start(ex: Exchange, head: string, body: readonly Buffer[]): void {
    this.#exchange = ex;
    this.#parser = new ResponseParser(this, ex.bodyless);
    this.#reusable = false;
    this.socket.ref();
    this.socket.setTimeout(ex.timeoutMs);
    this.socket.cork();
    this.socket.write(head, "latin1");
    for (const b of body) this.socket.write(b);
    this.socket.uncork();
  }

  abort(ex: Exchange, reason: Error): void {
    if (this.#exchange !== ex) return;
    this.#fail(ex, reason);
    this.socket.destroy();
  }

  #stale(code: string | undefined): boolean {
    return this.#uses > 0 && this.#parser?.started !== true && (code === "ECONNRESET" || code === "EPIPE");
  }

  #fail(ex: Exchange, err: Error): void {
    this.#exchange = undefined;
    ex.fail(err);
  }

  #data(d: Buffer): void {
    const ex = this.#exchange;
    if (ex === undefined) {
      // Bytes nobody asked for: the connection is out of step with the protocol.
      this.socket.destroy();
      return;
    }
    const parser = this.#parser as ResponseParser;
    let used: number;
    try {
      used = parser.feed(d);
    } catch (err) {
      this.#fail(ex, err as Error);
      this.socket.destroy();
      return;
    }
    if (parser.done) this.#complete(ex, used === d.length);
  }

  #end(): void {
    const ex = this.#exchange;
    if (ex === undefined) return;
    try {
      (this.#parser as ResponseParser).eof();
    } catch (err) {
      this.#fail(ex, this.#stale("ECONNRESET") ? retryable(err as Error) : (err as Error));
      return;
    }
    this.#complete(ex, false);
  }

  #complete(ex: Exchange, clean: boolean): void {
    this.#exchange = undefined;
    this.#uses++;
    ex.done(this.#reusable && clean);
  }

  head(h: Head): void {
    this.#exchange?.head(h);
  }

  body(piece: Buffer): void {
    this.#exchange?.body(piece);
  }

  /** The parser's end, before the caller's: only the parser knows whether the framing allows reuse. */
  end(reusable: boolean): void {
    this.#reusable = reusable;
  }
}

interface RetryHint {
  retryable?: boolean;
}

function retryable(err: Error): Error {
  (err as Error & RetryHint).retryable = true;
  return err;
}

/** A watch's body, read as it arrives; the socket pauses while its reader is far behind. */
class BodyQueue implements AsyncIterable<Buffer> {
  readonly #socket: net.Socket;
  readonly #idleMs: () => number;
  readonly #items: Buffer[] = [];
  #bytes = 0;
  #paused = false;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  /** `idleMs`: the stream's silence limit, suspended while the socket is paused for the reader. */
  constructor(socket: net.Socket, idleMs: () => number) {
    this.#socket = socket;
    this.#idleMs = idleMs;
  }

  push(b: Buffer): void {
    this.#items.push(b);
    this.#bytes += b.length;
    if (this.#bytes > STREAM_HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
      // A paused socket reads nothing, so its idle timer would fire while the server still sends.
      this.#socket.setTimeout(0);
    }
    this.#poke();
  }

  end(): void {
    this.#ended = true;
    this.#poke();
  }

  fail(err: Error): void {
    this.#error ??= err;
    this.#poke();
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const b = this.#items.shift();
      if (b !== undefined) {
        this.#bytes -= b.length;
        if (this.#bytes <= STREAM_HIGH_WATER / 2 && this.#paused) {
          this.#paused = false;
          this.#socket.setTimeout(this.#idleMs());
          this.#socket.resume();
        }
        yield b;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/**
 * Splits a byte stream into newline-terminated records (NDJSON), each handed out as the
 * pieces it arrived in. Only new bytes are searched for a newline and nothing is joined
 * here, so an event of half a megabyte costs its length once, and a reader that needs only
 * its head (see json-scan.ts) never copies it.
 */
export async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer[]> {
  let parts: Buffer[] = [];
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      if (nl > start) parts.push(chunk.subarray(start, nl));
      const line = parts;
      parts = [];
      start = nl + 1;
      yield line;
    }
    if (start < chunk.length) parts.push(start === 0 ? chunk : chunk.subarray(start));
  }
  if (parts.length > 0) yield parts;
}
