import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIfacerConf } from "./config.ts";
import { IfacerConfigError } from "./errors.ts";

const conf = (o: Record<string, unknown>): string => JSON.stringify({ cniVersion: "1.0.0", type: "ifacer", ...o });

describe("ifacer netconf", () => {
  it("reads interfaces, vlanID and bond; an empty bond name becomes sp_bond0", () => {
    assert.deepEqual(parseIfacerConf(conf({ interfaces: ["ens192"], vlanID: 100 })), {
      cniVersion: "1.0.0",
      interfaces: ["ens192"],
      vlanID: 100,
    });
    assert.deepEqual(parseIfacerConf(conf({ interfaces: ["a", "b"], bond: { mode: 1 } })).bond, {
      name: "sp_bond0",
      mode: 1,
      options: "",
    });
  });

  const refused: Array<[string, string, string]> = [
    ["NN-54 no interfaces", conf({ interfaces: [] }), "invalid config: interfaces have at least one interface"],
    ["NN-54 interfaces missing", conf({}), "invalid config: interfaces have at least one interface"],
    [
      "NN-54 VLAN 5000",
      conf({ interfaces: ["ens192"], vlanID: 5000 }),
      "invalid vlan tag 5000: vlan tag must be in range [0,4094]",
    ],
    [
      "VLAN -1",
      conf({ interfaces: ["ens192"], vlanID: -1 }),
      "invalid vlan tag -1: vlan tag must be in range [0,4094]",
    ],
    ["not JSON", "{", "failed to parse config: "],
    ["a VLAN ID that is not a number", conf({ interfaces: ["e"], vlanID: "100" }), "failed to parse config: vlanID"],
    ["interfaces that are not names", conf({ interfaces: [1] }), "failed to parse config: interfaces"],
    ["an unsupported cniVersion", JSON.stringify({ cniVersion: "0.1.0", interfaces: ["e"] }), "failed to parse config"],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseIfacerConf(text),
        (err: unknown) => err instanceof IfacerConfigError && err.message.startsWith(message),
      );
    });
  }
});
