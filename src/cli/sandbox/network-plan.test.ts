import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { confListOf, networkStatus, planAttachments, type NetConfList } from "./network-plan.ts";

const DEFAULT: NetConfList = { cniVersion: "1.0.0", name: "default-net", plugins: [{ type: "macvlan" }] };
const nad = (config: string | undefined): NetworkAttachmentDefinition =>
  ({ metadata: { name: "x" }, spec: config === undefined ? {} : { config } }) as NetworkAttachmentDefinition;
const NADS: Record<string, NetworkAttachmentDefinition> = {
  "demo/a": nad('{"cniVersion":"0.3.1","name":"a","plugins":[{"type":"macvlan"},{"type":"coordinator"}]}'),
  "other/b": nad('{"cniVersion":"1.0.0","name":"b","type":"ipvlan","master":"eth1"}'),
  "demo/empty": nad(undefined),
};
const lookup = (ns: string, name: string) => NADS[`${ns}/${name}`];

describe("planAttachments (Multus's choice of networks)", () => {
  const cases: Array<{ name: string; networks?: string; want: string[] | RegExp }> = [
    { name: "no annotation: the default network alone", want: ["eth0 default-net macvlan"] },
    {
      name: "names in order get net1, net2; a namespace and an @interface are kept",
      networks: "a, other/b@data0, a",
      want: [
        "eth0 default-net macvlan",
        "net1 demo/a macvlan,coordinator",
        "data0 other/b ipvlan",
        "net3 demo/a macvlan,coordinator",
      ],
    },
    {
      name: "the JSON form",
      networks: '[{"name":"b","namespace":"other","interface":"n9"}]',
      want: ["eth0 default-net macvlan", "n9 other/b ipvlan"],
    },
    {
      name: "a missing NAD fails as Multus does",
      networks: "nope",
      want: /cannot find a network-attachment-definition \(nope\) in namespace \(demo\)/,
    },
    { name: "a NAD without a config fails", networks: "empty", want: /demo\/empty has no spec.config/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const pod = {
        metadata: {
          namespace: "demo",
          annotations: c.networks === undefined ? {} : { "k8s.v1.cni.cncf.io/networks": c.networks },
        },
      };
      if (c.want instanceof RegExp) {
        assert.throws(() => planAttachments(pod, DEFAULT, lookup), c.want);
        return;
      }
      const got = planAttachments(pod, DEFAULT, lookup).map(
        (a) => `${a.ifName} ${a.network} ${a.conf.plugins.map((p) => String(p["type"])).join(",")}`,
      );
      assert.deepEqual(got, c.want);
    });
  }

  it("a single-plugin config is a list of one, its cniVersion and name kept", () => {
    assert.deepEqual(confListOf('{"cniVersion":"0.4.0","name":"n","type":"macvlan","master":"m"}', "f"), {
      cniVersion: "0.4.0",
      name: "n",
      plugins: [{ type: "macvlan", master: "m" }],
    });
  });

  it("network-status lists each interface with bare addresses, the default marked", () => {
    const [eth0, net1] = planAttachments(
      { metadata: { namespace: "demo", annotations: { "k8s.v1.cni.cncf.io/networks": "a" } } },
      DEFAULT,
      lookup,
    );
    const status = JSON.parse(
      networkStatus([
        { attachment: eth0!, ips: ["192.0.2.10/24", "2001:db8::10/64"], mac: "02:00:00:00:00:01" },
        { attachment: net1!, ips: ["203.0.113.5/24"] },
      ]),
    ) as unknown;
    assert.deepEqual(status, [
      {
        name: "default-net",
        interface: "eth0",
        ips: ["192.0.2.10", "2001:db8::10"],
        mac: "02:00:00:00:00:01",
        default: true,
        dns: {},
      },
      { name: "demo/a", interface: "net1", ips: ["203.0.113.5"], dns: {} },
    ]);
  });
});
