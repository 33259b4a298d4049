// Order statistics of a list of durations, the shape every benchmark's JSON uses.

export interface Stats {
  minMs: number;
  medianMs: number;
  p95Ms: number;
  p99Ms: number;
}

export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN);
  return { minMs: round(s[0] ?? Number.NaN), medianMs: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

/** Two decimals: enough for milliseconds, and keeps the JSON readable and diffable. */
export function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function statsRow(name: string, s: Stats, width = 34): string {
  const f = (x: number): string => x.toFixed(2).padStart(9);
  return `${name.padEnd(width)}${f(s.minMs)}${f(s.medianMs)}${f(s.p95Ms)}${f(s.p99Ms)}`;
}

export function statsHeader(note: string, width = 34): string {
  return `${"".padEnd(width)}${"min".padStart(9)}${"median".padStart(9)}${"p95".padStart(9)}${"p99".padStart(9)}  ${note}`;
}
