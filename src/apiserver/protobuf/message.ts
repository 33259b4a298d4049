/**
 * How a Kubernetes protobuf message maps to its JSON form: field numbers, JSON names and
 * types, as go-to-protobuf generates them from k8s.io/api (proto2, gogo). Fields that are
 * pointers in Go (`ptr`) keep their zero values; others are written by the Go marshaller
 * even when zero and are dropped here, as JSON's `omitempty` drops them.
 */

/** Types with a JSON form of their own: meta/v1 Time, intstr.IntOrString, resource.Quantity. */
export type Special = "time" | "intOrString" | "quantity";
export type Scalar = "string" | "int32" | "int64" | "bool" | "bytes";

export interface Field {
  readonly name: string;
  readonly type: Scalar | Special | Message;
  readonly repeated?: boolean;
  /** A `map<string, type>`: the entries are messages with key 1 and value 2. */
  readonly map?: boolean;
  readonly ptr?: boolean;
}

export interface Message {
  /** The protobuf name, for errors. */
  readonly name: string;
  readonly fields: ReadonlyMap<number, Field>;
}

export function message(name: string, fields: Record<number, Field>): Message {
  return { name, fields: new Map(Object.entries(fields).map(([n, f]) => [Number(n), f])) };
}

type Type = Field["type"];

export const f = (name: string, type: Type, opts: { ptr?: boolean } = {}): Field => ({ name, type, ...opts });
export const ptr = (name: string, type: Type): Field => ({ name, type, ptr: true });
export const list = (name: string, type: Type): Field => ({ name, type, repeated: true });
export const map = (name: string, type: Type): Field => ({ name, type, map: true });
