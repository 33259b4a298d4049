/**
 * The agent's unix socket: HTTP/1.1, one request per connection, as the shim speaks it
 * (Content-Length, `Connection: close`) and as tools do (chunked bodies, `Expect:
 * 100-continue`). The request is read by the client's own parser and the answer written in
 * one piece with the close.
 *
 * Why not node:http: every CNI call is a new connection, and node:http builds a request, a
 * response and their streams for each, 0.22 ms of agent CPU per call against 0.13 for this
 * (docs/performance.md). The protocol a one-shot local socket needs is small and all here.
 */
import { createServer, type Server, type Socket } from "node:net";
import { headerValues, HttpProtocolError, RequestParser, type Head } from "../kube/http1.ts";

export interface SocketRequest {
  method: string;
  /** The target's path, without the query. */
  path: string;
  /** The query after `?`, without it; "" when there is none. */
  query: string;
  /** Header names and values as sent: name, value, name, value… */
  headers: readonly string[];
  body: string;
}

export interface SocketAnswer {
  status: number;
  body: string;
  headers?: Readonly<Record<string, string>>;
}

export interface SocketServerOptions {
  /** Larger request bodies are refused with 413. */
  maxBody: number;
  /**
   * A request must have arrived whole this long after its connection opened, and a client
   * must have closed its side this long after its answer; else the connection is closed.
   */
  requestMs: number;
  /** A request the handler threw on, answered 500 (the handler maps its own errors; this is the last resort). */
  onError: (err: unknown) => void;
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  413: "Content Too Large",
  500: "Internal Server Error",
};

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");

/** An answer's bytes: status line, headers, the body; the connection closes after it. */
export function encodeAnswer(a: SocketAnswer): Buffer {
  const body = Buffer.from(a.body);
  let head = `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? "Unknown"}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n`;
  for (const name in a.headers) {
    const value = a.headers[name] as string;
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`bad answer header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  const h = Buffer.from(`${head}\r\n`, "latin1");
  return body.length === 0 ? h : Buffer.concat([h, body]);
}

class TooLarge extends Error {}

export class SocketServer {
  readonly #server: Server;
  /** Open connections and when each must be gone (see requestMs); Infinity while its handler runs. */
  readonly #open = new Map<Socket, number>();
  #sweep: NodeJS.Timeout | undefined;
  readonly #handler: (req: SocketRequest) => Promise<SocketAnswer>;
  readonly #opts: SocketServerOptions;

  constructor(handler: (req: SocketRequest) => Promise<SocketAnswer>, opts: SocketServerOptions) {
    this.#handler = handler;
    this.#opts = opts;
    // Half-open: a client that shut down its writing side after the request still reads the answer.
    this.#server = createServer({ allowHalfOpen: true }, (s) => this.#connection(s));
  }

  async listen(path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(path, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    // One sweep for every connection's deadline, not a timer each: a timer set and cleared
    // per CNI call cost more than the rest of its connection handling.
    clearInterval(this.#sweep);
    this.#sweep = setInterval(
      () => {
        const now = performance.now();
        for (const [sock, deadline] of this.#open) if (now > deadline) sock.destroy();
      },
      Math.max(10, Math.min(5_000, this.#opts.requestMs / 4)),
    );
    this.#sweep.unref();
  }

  /** Stops listening and closes every open connection, answered or not. */
  close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const s of this.#open.keys()) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #connection(sock: Socket): void {
    // A deadline for the whole request, not an idle timeout: a client trickling bytes must not hold a connection.
    this.#open.set(sock, performance.now() + this.#opts.requestMs);
    sock.once("close", () => this.#open.delete(sock));
    // A client gone before its answer leaves nothing to do; the error must not go unhandled.
    sock.on("error", () => sock.destroy());
    let head: Head | undefined;
    const pieces: Buffer[] = [];
    let size = 0;
    let complete = false;
    const parser = new RequestParser({
      head: (h) => {
        head = h;
        // A body announced over the limit is refused before the client sends it.
        const length = Number(headerValues(h.raw, "content-length")[0] ?? "0");
        if (length > this.#opts.maxBody) throw new TooLarge();
        // Only an HTTP/1.1 client waits for 100 Continue (RFC 9110 §10.1.1).
        if (h.version === "1.1" && headerValues(h.raw, "expect").some((v) => v.toLowerCase() === "100-continue"))
          sock.write(CONTINUE);
      },
      body: (piece) => {
        size += piece.length;
        if (size > this.#opts.maxBody) throw new TooLarge();
        pieces.push(piece);
      },
      end: () => {
        complete = true;
      },
    });
    const refuse = (status: number, message: string): void => {
      sock.removeAllListeners("data");
      answer(encodeAnswer({ status, body: JSON.stringify(message) }));
    };
    const answer = (bytes: Buffer): void => {
      if (sock.destroyed) return;
      sock.end(bytes);
      this.#open.set(sock, performance.now() + this.#opts.requestMs);
    };
    sock.on("data", (buf: Buffer) => {
      try {
        // Bytes after the one request (pipelined) are not read: the answer closes the connection.
        parser.feed(buf);
      } catch (err) {
        if (err instanceof TooLarge) return refuse(413, `request body larger than ${this.#opts.maxBody} bytes`);
        return refuse(400, err instanceof HttpProtocolError ? err.message : "malformed request");
      }
      if (!complete || head === undefined) return;
      sock.removeAllListeners("data");
      // The handler may take its time (a pool write retried under contention); the client waits.
      this.#open.set(sock, Number.POSITIVE_INFINITY);
      const body = pieces.length === 1 ? (pieces[0] as Buffer).toString() : Buffer.concat(pieces).toString();
      this.#serve(head, body).then(answer, () => sock.destroy());
    });
    sock.on("end", () => {
      // The client stopped writing before its request was whole: there is nothing to answer.
      if (!complete) sock.destroy();
    });
  }

  async #serve(head: Head, body: string): Promise<Buffer> {
    const target = head.target ?? "/";
    const q = target.indexOf("?");
    try {
      return encodeAnswer(
        await this.#handler({
          method: head.method ?? "",
          path: q < 0 ? target : target.slice(0, q),
          query: q < 0 ? "" : target.slice(q + 1),
          headers: head.raw,
          body,
        }),
      );
    } catch (err) {
      // Whatever was thrown (an Error, a string, null), the client gets a 500 with its text.
      try {
        this.#opts.onError(err);
      } catch {
        // A failing reporter must not cost the client its answer.
      }
      return encodeAnswer({ status: 500, body: JSON.stringify(err instanceof Error ? err.message : String(err)) });
    }
  }
}
