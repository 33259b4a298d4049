/** rtnetlink policy-routing rules in the model's terms: rule ops and rules as observed. */
import type { Rule } from "../model.ts";
import { parsePrefix } from "../prefix.ts";
import { afOf, familyOfAf, ipBytes, ipText } from "./rtnl.ts";
import { bytes, parseAttrs, readU32, u32, type Attr, type Message } from "./wire.ts";

const FRA = { DST: 1, SRC: 2, PRIORITY: 6, FWMARK: 10, TABLE: 15, FWMASK: 16 } as const;
const FR_ACT_TO_TBL = 1;

export function ruleRequest(r: Rule, forDelete: boolean): [Uint8Array, Attr[]] {
  const header = new Uint8Array(12);
  header[0] = afOf(r.family);
  const attrs: Attr[] = [];
  if (r.src !== undefined) {
    const p = parsePrefix(r.src);
    header[2] = p.prefix;
    attrs.push(bytes(FRA.SRC, ipBytes(p.text.slice(0, p.text.indexOf("/")))));
  }
  if (r.dst !== undefined) {
    const p = parsePrefix(r.dst);
    header[1] = p.prefix;
    attrs.push(bytes(FRA.DST, ipBytes(p.text.slice(0, p.text.indexOf("/")))));
  }
  header[4] = r.table < 256 ? r.table : 0;
  header[7] = forDelete && r.table === 0 ? 0 : FR_ACT_TO_TBL;
  if (r.table !== 0) attrs.push(u32(FRA.TABLE, r.table));
  // No FRA_PRIORITY means "kernel, pick one" (spec Q5).
  if (r.priority !== undefined) attrs.push(u32(FRA.PRIORITY, r.priority));
  if (r.fwmark !== undefined) attrs.push(u32(FRA.FWMARK, r.fwmark));
  if (r.fwmask !== undefined) attrs.push(u32(FRA.FWMASK, r.fwmask));
  return [header, attrs];
}

export function decodeRule(m: Message): Rule | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const a = parseAttrs(b, 12);
  const rule: Rule = {
    family,
    priority: readU32(a.get(FRA.PRIORITY)) ?? 0,
    table: readU32(a.get(FRA.TABLE)) ?? (b[4] as number),
  };
  const src = a.get(FRA.SRC);
  if (src !== undefined) rule.src = `${ipText(src)}/${b[2] as number}`;
  const dst = a.get(FRA.DST);
  if (dst !== undefined) rule.dst = `${ipText(dst)}/${b[1] as number}`;
  const mark = readU32(a.get(FRA.FWMARK));
  if (mark !== undefined) rule.fwmark = mark;
  const mask = readU32(a.get(FRA.FWMASK));
  if (mask !== undefined) rule.fwmask = mask;
  return rule;
}
