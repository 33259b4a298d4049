/**
 * Reading an HTTP request's body with a cap, for the two servers that speak the Kubernetes
 * wire (the embedded API server and the admission webhooks): a body over the cap destroys
 * the request instead of being buffered, and each server maps the error to its own answer.
 */
import type { IncomingMessage } from "node:http";
import { SpiderpoolError } from "../errors/base.ts";

export class BodyTooLargeError extends SpiderpoolError {
  readonly code = "ERR_BODY_TOO_LARGE";
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new BodyTooLargeError(maxBytes));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
