/** An answer sent whole, with its length: JSON unless the body is already text or bytes. */
import type { ServerResponse } from "node:http";
import { stringifyJson } from "../api/int64.ts";

export function send(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : stringifyJson(body));
  res.writeHead(code, { "content-type": contentType, "content-length": data.length });
  res.end(data);
}
