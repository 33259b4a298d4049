/**
 * Reading request bodies: at most 3 MiB, JSON read with exact int64s, and for creates and
 * updates also kube's protobuf (kubectl's typed commands send it), decoded to the same
 * JSON form. Decoding failures are mapped here, once, to kube-apiserver's Status errors.
 */
import type { IncomingMessage } from "node:http";
import { parseJson as parseExactJson } from "../api/int64.ts";
import { BodyTooLargeError, readBody as readCapped } from "../kube/read-body.ts";
import { badRequest, statusError, unsupportedMediaType } from "./http-errors.ts";
import { decodeObject, PROTOBUF_TYPE, ProtobufDecodeError, ProtobufKindError } from "./protobuf/decode.ts";

const MAX_BODY = 3 * 1024 * 1024;

/** The body, or kube-apiserver's 413 Status when it is over the cap. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  try {
    return await readCapped(req, MAX_BODY);
  } catch (err) {
    if (err instanceof BodyTooLargeError)
      throw statusError(413, "RequestEntityTooLarge", "the request body is larger than 3 MiB");
    throw err;
  }
}

export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return parseExactJson(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A JSON body (patches, delete options, test controls). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  return parseJson((await readBody(req)).toString("utf8"));
}

function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * The object of a create or update, sent as JSON or as protobuf. `precheck` sees a JSON
 * body's bytes before they are parsed, and may refuse the request by throwing.
 */
export async function readObject(req: IncomingMessage, precheck?: (body: Buffer) => void): Promise<unknown> {
  const type = mediaType(req);
  if (type === PROTOBUF_TYPE) {
    const body = await readBody(req);
    try {
      return decodeObject(body);
    } catch (err) {
      if (err instanceof ProtobufKindError) throw unsupportedMediaType(`${type}: ${err.message}`);
      if (err instanceof ProtobufDecodeError) throw badRequest(`the protobuf body cannot be decoded: ${err.message}`);
      throw err;
    }
  }
  if (type !== "application/json" && type !== "") throw unsupportedMediaType(type);
  const body = await readBody(req);
  precheck?.(body);
  return parseJson(body.toString("utf8"));
}
