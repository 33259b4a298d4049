/** An answer sent whole, with its length: JSON unless the body is already text. */
import type { ServerResponse } from "node:http";
import { stringifyJson } from "../api/int64.ts";

export function send(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : stringifyJson(body);
  res.writeHead(code, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}
