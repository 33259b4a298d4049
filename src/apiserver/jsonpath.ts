/**
 * The JSONPath subset used by printer columns and field selectors: `.a.b`, `.a[0].b`,
 * `.a['k\.with\.dots']`. Returns undefined when any step is missing.
 */
export type PathStep = string | number;

export function parseJsonPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  const p = path.startsWith("{") && path.endsWith("}") ? path.slice(1, -1) : path;
  while (i < p.length) {
    const c = p[i];
    if (c === ".") {
      i++;
      let name = "";
      while (i < p.length && p[i] !== "." && p[i] !== "[") {
        if (p[i] === "\\" && i + 1 < p.length) i++;
        name += p[i];
        i++;
      }
      if (name !== "") steps.push(name);
    } else if (c === "[") {
      const end = p.indexOf("]", i);
      if (end < 0) throw new Error(`unclosed '[' in JSONPath '${path}'`);
      let inner = p.slice(i + 1, end);
      // A quoted key may itself contain an escaped ']'; find the real closing quote.
      if (inner.startsWith("'") || inner.startsWith('"')) {
        const q = inner[0] as string;
        let j = i + 2;
        let key = "";
        while (j < p.length && p[j] !== q) {
          if (p[j] === "\\" && j + 1 < p.length) j++;
          key += p[j];
          j++;
        }
        const close = p.indexOf("]", j);
        if (close < 0) throw new Error(`unclosed '[' in JSONPath '${path}'`);
        steps.push(key);
        i = close + 1;
        continue;
      }
      inner = inner.trim();
      if (!/^[0-9]+$/.test(inner)) throw new Error(`unsupported JSONPath index '${inner}' in '${path}'`);
      steps.push(Number(inner));
      i = end + 1;
    } else {
      throw new Error(`unexpected '${c}' in JSONPath '${path}'`);
    }
  }
  return steps;
}

export function evalJsonPath(obj: unknown, steps: readonly PathStep[]): unknown {
  let cur: unknown = obj;
  for (const s of steps) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof s === "number") {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[s];
    } else {
      if (typeof cur !== "object" || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}
