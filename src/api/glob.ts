/**
 * Pool-name wildcards with Go `filepath.Match` syntax, which upstream uses for names in
 * the `ippool(s)` annotations, namespace defaults and netconf defaults: `*` any run of
 * characters but '/', `?` one such character, `[a-z]`/`[^a-z]` classes, `\` escapes.
 * Malformed patterns are errors here rather than silent non-matches.
 */
import { SpiderpoolError } from "../errors/base.ts";

export class BadGlobPatternError extends SpiderpoolError {
  readonly code = "ERR_BAD_GLOB_PATTERN";
  readonly pattern: string;
  readonly reason: string;
  constructor(pattern: string, reason: string) {
    super(`bad wildcard pattern '${pattern}': ${reason}`);
    this.pattern = pattern;
    this.reason = reason;
  }
}

const SPECIAL = /[*?[\\]/;

/** True when the name contains wildcard syntax and must be expanded against pool names. */
export function isGlob(name: string): boolean {
  return SPECIAL.test(name);
}

function escapeRe(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

function escapeClass(ch: string): string {
  return ch.replace(/[\\\]\[^-]/g, "\\$&");
}

export interface Glob {
  readonly pattern: string;
  matches(name: string): boolean;
}

/** Compiles a pattern; throws {@link BadGlobPatternError} when it is malformed. */
export function compileGlob(pattern: string): Glob {
  const chars = [...pattern];
  let i = 0;
  let re = "^";
  const bad = (reason: string): never => {
    throw new BadGlobPatternError(pattern, reason);
  };
  // One class member, as Go's getEsc: not '-' or ']' unescaped, not at the end.
  const classChar = (): string => {
    let c = chars[i];
    if (c === undefined) return bad("unclosed '['");
    if (c === "-" || c === "]") return bad(`'${c}' must be escaped inside [...]`);
    if (c === "\\") {
      i++;
      c = chars[i];
      if (c === undefined) return bad("trailing '\\'");
    }
    i++;
    if (i >= chars.length) bad("unclosed '['");
    return c;
  };
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === "*") {
      re += "[^/]*";
      i++;
    } else if (c === "?") {
      re += "[^/]";
      i++;
    } else if (c === "\\") {
      const next = chars[i + 1];
      if (next === undefined) bad("trailing '\\'");
      re += escapeRe(next as string);
      i += 2;
    } else if (c === "[") {
      i++;
      let negate = false;
      if (chars[i] === "^") {
        negate = true;
        i++;
      }
      // A reversed range (z-a) is legal in Go and matches nothing; JS would reject it.
      let cls = "";
      let members = 0;
      for (;;) {
        if (chars[i] === "]" && members > 0) {
          i++;
          break;
        }
        const lo = classChar();
        if (chars[i] === "-") {
          i++;
          const hi = classChar();
          if (lo <= hi) cls += `${escapeClass(lo)}-${escapeClass(hi)}`;
        } else {
          cls += escapeClass(lo);
        }
        members++;
      }
      if (cls === "") re += negate ? "[^]" : "(?!)";
      else re += negate ? `[^${cls}]` : `[${cls}]`;
    } else {
      re += escapeRe(c);
      i++;
    }
  }
  const rx = new RegExp(`${re}$`, "u");
  return { pattern, matches: (name) => rx.test(name) };
}

/** Expands names: plain names stay, patterns become every matching candidate, in order. */
export function expandNames(names: readonly string[], candidates: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (!isGlob(name)) {
      out.push(name);
      continue;
    }
    const g = compileGlob(name);
    for (const c of candidates) if (g.matches(c)) out.push(c);
  }
  return out;
}
