import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseBondOptions, RECOGNISED_BOND_OPTIONS } from "./bond-options.ts";
import { BondOptionsError } from "./errors.ts";

describe("bond options text", () => {
  it("reads every recognised option under the kernel's name", () => {
    const text = [
      "active_slave=ens192",
      "ad_actor_sys_prio=100",
      "ad_actor_system=02-00-00-00-00-01",
      "ad_select=1",
      "ad_user_port_key=2",
      "all_slaves_active=1",
      "arp_interval=200",
      'arp_ip_target=["192.0.2.1","192.0.2.2"]',
      "arp_validate=3",
      "arp_all_targets=1",
      "downdelay=400",
      "fail_over_mac=2",
      "lacp_rate=1",
      "miimon=100",
      "min_links=1",
      "packets_per_slave=3",
      "primary=ens224",
      "primary_reselect=2",
      "tlb_dynamic_lb=1",
      "up_delay=300",
      "use_carrier=1",
      "xmit_hash_policy=2",
      "lp_interval=5",
      "resend_igmp=4",
      "peer_notif_delay=500",
    ].join(";");
    const out = parseBondOptions(text);
    assert.equal(Object.keys(out).length, RECOGNISED_BOND_OPTIONS.length);
    assert.deepEqual(out, {
      active_slave: "ens192",
      ad_actor_sys_prio: 100,
      ad_actor_system: "02:00:00:00:00:01",
      ad_select: 1,
      ad_user_port_key: 2,
      all_slaves_active: 1,
      arp_interval: 200,
      arp_ip_target: "192.0.2.1,192.0.2.2",
      arp_validate: 3,
      arp_all_targets: 1,
      downdelay: 400,
      fail_over_mac: 2,
      lacp_rate: 1,
      miimon: 100,
      min_links: 1,
      packets_per_slave: 3,
      primary: "ens224",
      primary_reselect: 2,
      tlb_dynamic_lb: 1,
      updelay: 300,
      use_carrier: 1,
      xmit_hash_policy: 2,
      lp_interval: 5,
      resend_igmp: 4,
      peer_notif_delay: 500,
    });
  });

  const cases: Array<[string, string, Record<string, string | number>]> = [
    ["integer options count only above 0", "miimon=0;downdelay=-5;updelay=1", {}],
    ["unknown keys and pairs without exactly one = are ignored", "foo=1;miimon;a=b=c;miimon=100", { miimon: 100 }],
    [
      "spaces around keys and values are trimmed (spec Q6)",
      " miimon=100; primary = ens192 ",
      { miimon: 100, primary: "ens192" },
    ],
    ["a trailing ; is harmless", "miimon=100;", { miimon: 100 }],
    ["keys match case-insensitively, as Go's JSON decoding did", "MiiMon=100", { miimon: 100 }],
    ["the last of a repeated key wins", "miimon=100;miimon=200", { miimon: 200 }],
    ["an empty text is no options", "", {}],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.deepEqual(parseBondOptions(text), want));
  }

  const refused: Array<[string, string, string]> = [
    [
      "text for an integer option",
      "miimon=fast",
      "failed to convert options to BondOptions: json: cannot unmarshal string into Go struct field BondOptions.miimon of type int",
    ],
    [
      "a number for a name",
      "primary=1",
      "failed to convert options to BondOptions: json: cannot unmarshal number into Go struct field BondOptions.primary of type string",
    ],
    [
      "a list for an integer option",
      "miimon=[1]",
      "failed to convert options to BondOptions: json: cannot unmarshal array into Go struct field BondOptions.miimon of type int",
    ],
    ["a broken list", "arp_ip_target=[192.0.2.1", "failed to convert options to BondOptions: arp_ip_target: "],
    [
      "an ARP target that is not an IPv4 address",
      'arp_ip_target=["2001:db8::1"]',
      "invalid bond arp_ip_target: 2001:db8::1",
    ],
    ["an actor system that is not a MAC", "ad_actor_system=nope", "invalid bond ad_actor_system: nope"],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseBondOptions(text),
        (err: unknown) => err instanceof BondOptionsError && err.message.startsWith(message),
      );
    });
  }
});
