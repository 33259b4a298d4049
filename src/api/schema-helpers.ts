import { Type, type TSchema, type TUnsafe } from "typebox";
import type { IntValue } from "./int64.ts";

/**
 * An int64 field. `Static` is number | bigint: a value beyond 2^53−1 (a pool of 2^63−1
 * addresses) is a bigint, as api/int64.ts parses and writes it.
 */
export function Int64(options: Record<string, unknown> = {}): TUnsafe<IntValue> {
  return Type.Unsafe<IntValue>({ type: "integer", format: "int64", ...options });
}

export function Int32(options: Record<string, unknown> = {}) {
  return Type.Integer({ format: "int32", ...options });
}

/**
 * A string enum, written as the plain `enum` keyword that CRDs accept (a union of consts
 * is not structural), while TypeScript still sees the literal union.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });
}

/** An integer enum such as ipVersion 4|6, typed as the literal union. */
export function IntEnum<const T extends readonly number[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "integer", enum: [...values], ...options });
}

export function StringList(options: Record<string, unknown> = {}) {
  return Type.Array(Type.String(), options);
}

export type { TSchema };
