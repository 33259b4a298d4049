/**
 * Kubernetes label selectors: the string form of `?labelSelector=` (`a=b,c!=d,e in (x,y),!f`)
 * and the object form of metav1.LabelSelector (pool affinities). Pure, so the allocation
 * core, the client and the embedded API server share one implementation.
 */
import { SpiderpoolError } from "../errors/base.ts";
import type { LabelSelector } from "./meta.ts";

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

export class InvalidSelectorError extends SpiderpoolError {
  readonly code = "ERR_INVALID_SELECTOR";
  readonly selector: string;
  readonly reason: string;
  constructor(selector: string, reason: string) {
    super(`invalid label selector '${selector}': ${reason}`);
    this.selector = selector;
    this.reason = reason;
  }
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid, or undefined: `[prefix/]name`, name <= 63, prefix a DNS subdomain <= 253. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `prefix '${prefix}' must be a DNS-1123 subdomain`;
    }
  }
  if (name.length === 0 || name.length > 63) return "name part must be 1 to 63 characters";
  if (!NAME.test(name)) return "name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric";
  return undefined;
}

/** Why a label value is invalid, or undefined: empty, or <= 63 characters of the name alphabet. */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return "must be at most 63 characters";
  if (!NAME.test(value)) return "must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric";
  return undefined;
}

function tokenize(s: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === " " || c === "\t") {
      i++;
    } else if (c === "," || c === "(" || c === ")") {
      tokens.push(c);
      i++;
    } else if (c === "=" || c === "!" || c === ">" || c === "<") {
      if (s.startsWith("==", i) || s.startsWith("!=", i)) {
        tokens.push(s.slice(i, i + 2));
        i += 2;
      } else {
        tokens.push(c);
        i++;
      }
    } else {
      let j = i;
      while (j < s.length && !" \t,()=!<>".includes(s[j] as string)) j++;
      tokens.push(s.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const IS_WORD = (t: string | undefined): t is string =>
  t !== undefined && !",()=!<>".includes(t) && t !== "==" && t !== "!=";

/** Parses the string form. The empty string selects everything. */
export function parseSelector(selector: string): Requirement[] {
  const t = tokenize(selector);
  const out: Requirement[] = [];
  let i = 0;
  const bad = (reason: string): never => {
    throw new InvalidSelectorError(selector, reason);
  };
  const checkKey = (key: string): void => {
    const p = labelKeyProblem(key);
    if (p !== undefined) bad(`key '${key}': ${p}`);
  };
  const checkValue = (v: string): void => {
    const p = labelValueProblem(v);
    if (p !== undefined) bad(`value '${v}': ${p}`);
  };
  while (i < t.length) {
    if (t[i] === "!") {
      const key = t[i + 1];
      if (!IS_WORD(key)) bad("expected a key after '!'");
      checkKey(key as string);
      out.push({ key: key as string, operator: "!", values: [] });
      i += 2;
    } else {
      const key = t[i];
      if (!IS_WORD(key)) bad(`expected a key, found '${key ?? "end"}'`);
      checkKey(key as string);
      const op = t[i + 1];
      if (op === undefined || op === ",") {
        out.push({ key: key as string, operator: "exists", values: [] });
        i += 1;
      } else if (op === "=" || op === "==" || op === "!=") {
        const v = t[i + 2];
        // `a=` selects an empty value, as in Kubernetes.
        const value = IS_WORD(v) ? v : "";
        checkValue(value);
        out.push({ key: key as string, operator: op === "!=" ? "!=" : "=", values: [value] });
        i += IS_WORD(v) ? 3 : 2;
      } else if (op === ">" || op === "<") {
        const v = t[i + 2];
        if (!IS_WORD(v) || !/^-?[0-9]+$/.test(v)) bad(`'${op}' needs an integer value`);
        out.push({ key: key as string, operator: op === ">" ? "gt" : "lt", values: [v as string] });
        i += 3;
      } else if (op === "in" || op === "notin") {
        if (t[i + 2] !== "(") bad(`expected '(' after '${op}'`);
        const values: string[] = [];
        let j = i + 3;
        for (;;) {
          const v = t[j];
          if (v === ")") {
            j++;
            break;
          }
          if (v === ",") {
            j++;
            continue;
          }
          if (!IS_WORD(v)) bad(`unclosed '(' in '${op}'`);
          checkValue(v as string);
          values.push(v as string);
          j++;
        }
        if (values.length === 0) bad(`'${op}' needs at least one value`);
        out.push({ key: key as string, operator: op, values });
        i = j;
      } else {
        bad(`unexpected '${op}' after key '${key}'`);
      }
    }
    if (i < t.length) {
      if (t[i] !== ",") bad(`expected ',' but found '${t[i]}'`);
      i++;
      if (i === t.length) bad("trailing ','");
    }
  }
  return out;
}

/** Converts a metav1.LabelSelector to requirements; invalid operators or values throw. */
export function requirementsOf(sel: LabelSelector): Requirement[] {
  const out: Requirement[] = [];
  const shown = JSON.stringify(sel);
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    const kp = labelKeyProblem(key);
    if (kp !== undefined) throw new InvalidSelectorError(shown, `matchLabels key '${key}': ${kp}`);
    const vp = labelValueProblem(value);
    if (vp !== undefined) throw new InvalidSelectorError(shown, `matchLabels['${key}'] value '${value}': ${vp}`);
    out.push({ key, operator: "=", values: [value] });
  }
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const where = `matchExpressions[${i}]`;
    const kp = labelKeyProblem(e.key);
    if (kp !== undefined) throw new InvalidSelectorError(shown, `${where}.key '${e.key}': ${kp}`);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) throw new InvalidSelectorError(shown, `${where}: ${e.operator} needs values`);
        for (const v of values) {
          const vp = labelValueProblem(v);
          if (vp !== undefined) throw new InvalidSelectorError(shown, `${where} value '${v}': ${vp}`);
        }
        out.push({ key: e.key, operator: e.operator === "In" ? "in" : "notin", values });
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) throw new InvalidSelectorError(shown, `${where}: ${e.operator} takes no values`);
        out.push({ key: e.key, operator: e.operator === "Exists" ? "exists" : "!", values: [] });
        break;
      default:
        throw new InvalidSelectorError(
          shown,
          `${where}: operator '${e.operator}' is not In, NotIn, Exists or DoesNotExist`,
        );
    }
  });
  return out;
}

function matchOne(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case "=":
      return has && v === r.values[0];
    case "!=":
      return !has || v !== r.values[0];
    case "in":
      return has && r.values.includes(v as string);
    case "notin":
      return !has || !r.values.includes(v as string);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || !/^-?[0-9]+$/.test(v as string)) return false;
      const a = Number(v);
      const b = Number(r.values[0]);
      return r.operator === "gt" ? a > b : a < b;
    }
  }
}

/** True when every requirement holds for `labels` (no requirements select everything). */
export function matchesRequirements(
  reqs: readonly Requirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r) => matchOne(r, l));
}

/** metav1.LabelSelector semantics: an empty selector matches everything. */
export function matchesLabelSelector(
  sel: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return matchesRequirements(requirementsOf(sel), labels);
}

/** The string form of a LabelSelector, for `?labelSelector=`. */
export function formatSelector(sel: LabelSelector): string {
  return requirementsOf(sel)
    .map((r) => {
      switch (r.operator) {
        case "=":
          return `${r.key}=${r.values[0]}`;
        case "!=":
          return `${r.key}!=${r.values[0]}`;
        case "in":
          return `${r.key} in (${r.values.join(",")})`;
        case "notin":
          return `${r.key} notin (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!":
          return `!${r.key}`;
        case "gt":
          return `${r.key}>${r.values[0]}`;
        case "lt":
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(",");
}
