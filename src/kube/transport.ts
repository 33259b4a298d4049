/**
 * HTTP/1.1 to one API server on Node's own http/https agents: keep-alive connections, a
 * bounded pool for requests and an unbounded one for watches, whole answers as bytes and
 * watches as byte streams.
 *
 * Why not undici (which this client used first): measured against the same server, Node's
 * client costs the same CPU per request (within 5 %; 10 % less on a 450 KB PUT), while
 * loading undici and compiling its WebAssembly HTTP parser cost each daemon about 20 MB of
 * resident memory, a fifth of the agent's budget (docs/performance.md).
 */
import http from "node:http";
import https from "node:https";

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /**
   * Every value of one header (lower-case name), in order: Warning may repeat, and its
   * texts hold commas. Read from the raw headers on demand; Node's `headersDistinct`
   * builds an object of every header on each access, a cost on every request.
   */
  values(name: string): string[];
  /** The body as it arrived, in pieces: a reader that needs only its head need not join them. */
  chunks: Buffer[];
}

/** Every value of header `name` (lower case) in Node's `rawHeaders` (name, value, name, value…). */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as string).length === name.length && (raw[i] as string).toLowerCase() === name)
      out.push(raw[i + 1] as string);
  return out;
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

export class Transport {
  readonly #mod: typeof http | typeof https;
  readonly #host: string;
  readonly #port: number;
  readonly #requests: http.Agent;
  readonly #watches: http.Agent;

  constructor(origin: URL, connections: number, tls: TlsOptions) {
    const secure = origin.protocol === "https:";
    this.#mod = secure ? https : http;
    this.#host = origin.hostname.replace(/^\[|\]$/g, "");
    this.#port = origin.port !== "" ? Number(origin.port) : secure ? 443 : 80;
    // LIFO keeps the connections that are busy warm and lets the idle ones expire; the
    // server's Keep-Alive hint closes ours before it would close them.
    const common = { keepAlive: true, scheduling: "lifo" as const, ...(secure ? tls : {}) };
    const Agent = secure ? https.Agent : http.Agent;
    this.#requests = new Agent({ ...common, maxSockets: connections });
    // A watch holds its connection for minutes; requests must never queue behind watches.
    this.#watches = new Agent({ ...common, maxSockets: Infinity });
  }

  close(): void {
    this.#requests.destroy();
    this.#watches.destroy();
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

  #sendOnce(o: SendOptions): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...o.headers };
      const body = o.body === undefined ? [] : Buffer.isBuffer(o.body) ? [o.body] : o.body;
      if (o.body !== undefined) headers["content-length"] = body.reduce((n, b) => n + b.length, 0);
      let answered = false;
      const req = this.#mod.request(
        {
          agent: this.#requests,
          host: this.#host,
          port: this.#port,
          method: o.method,
          path: o.path,
          headers,
          timeout: o.timeoutMs,
          ...(o.signal !== undefined ? { signal: o.signal } : {}),
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            if (!res.complete) {
              reject(new Error("connection closed before the answer was complete"));
              return;
            }
            const raw = res.rawHeaders;
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              values: (name) => headerValues(raw, name),
              chunks,
            });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
      req.on("error", (err: Error & RetryHint) => {
        // A reset before any answer, on a connection that sat idle in the pool: the server
        // closed it as the request arrived (Node's documented case for reusedSocket).
        if (req.reusedSocket && (err as NodeJS.ErrnoException).code === "ECONNRESET" && !answered) err.retryable = true;
        reject(err);
      });
      // Corked, the pieces leave in one writev.
      req.cork();
      for (const b of body) req.write(b);
      req.end(); // and uncorks
    });
  }

  /**
   * A long-lived GET whose answer is read as it streams. The connection is dropped after
   * `idleMs` without a byte (0: never).
   */
  stream(o: {
    path: string;
    headers: Record<string, string>;
    headersTimeoutMs: number;
    idleMs: number;
    signal?: AbortSignal;
  }): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.#mod.request({
        agent: this.#watches,
        host: this.#host,
        port: this.#port,
        method: "GET",
        path: o.path,
        headers: o.headers,
        timeout: o.headersTimeoutMs,
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
      });
      req.on("timeout", () => req.destroy(new Error("watch connection idle for too long")));
      req.on("error", reject);
      req.on("response", (res) => {
        // From here the limit is silence on a stream that should carry events or close.
        req.setTimeout(o.idleMs);
        resolve(res);
      });
      req.end();
    });
  }
}

interface RetryHint {
  retryable?: boolean;
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
