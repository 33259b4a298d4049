import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseRule, splitTable } from "./iptables.ts";

test("NN-7 (host primitive) iptables: the spec's rules and iptables-save's spelling of them normalise alike", () => {
  const pairs: [string, string][] = [
    [
      "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x000001",
      "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
    ],
    [
      "-A PREROUTING -m mark --mark 0x000001 -j CONNMARK --save-mark",
      "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
    ],
    [
      "-A OUTPUT -j CONNMARK --restore-mark",
      "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
    ],
  ];
  for (const [ours, saved] of pairs) assert.equal(normaliseRule(ours), normaliseRule(saved));
  assert.notEqual(
    normaliseRule("-A OUTPUT -j CONNMARK --restore-mark"),
    normaliseRule("-A OUTPUT -j CONNMARK --save-mark"),
  );
  assert.notEqual(normaliseRule("-A PREROUTING -m mark --mark 0x1"), normaliseRule("-A PREROUTING -m mark --mark 0x2"));
});

test("host iptables: the table comes out of the rule, and only appends are accepted", () => {
  assert.deepEqual(splitTable("-t mangle -A OUTPUT -j CONNMARK --restore-mark"), {
    table: "mangle",
    rule: "-A OUTPUT -j CONNMARK --restore-mark",
  });
  assert.deepEqual(splitTable("-A INPUT -j ACCEPT"), { table: "filter", rule: "-A INPUT -j ACCEPT" });
  assert.throws(() => splitTable("-t mangle -D OUTPUT -j ACCEPT"), RangeError);
});
