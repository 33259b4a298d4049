import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderCoordinator } from "../api/coordinator.ts";
import { agentCoordinatorConfig, mergeConfig, type AgentCoordinatorConfig } from "./config.ts";
import { CoordinatorConfigError, CoordinatorConfigUnavailableError, CoordinatorModeError } from "./errors.ts";
import { parseCoordinatorNetConf } from "./netconf.ts";

const AGENT: AgentCoordinatorConfig = {
  mode: "auto",
  overlayPodCIDR: ["10.244.0.0/16"],
  serviceCIDR: ["10.96.0.0/12"],
  hijackCIDR: ["169.254.0.0/16"],
  policyRoutes: [],
  podMACPrefix: "",
  tunePodRoutes: true,
  podDefaultRouteNIC: "",
  hostRuleTable: 500,
  podRPFilter: 0,
  txQueueLen: 0,
  vethLinkAddress: "",
  vethMTU: 1500,
};

const nad = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ cniVersion: "1.0.0", name: "macvlan", type: "coordinator", ...extra });

function scc(phase: string, spec: SpiderCoordinator["spec"] = {}): SpiderCoordinator {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderCoordinator",
    metadata: { name: "default" },
    spec,
    status: { phase, overlayPodCIDR: ["10.244.0.0/16"], serviceCIDR: ["10.96.0.0/12"] },
  };
}

describe("coordinator netconf and merge (§1.2)", () => {
  it("fills gaps from the agent and then the spec's defaults", () => {
    const c = mergeConfig(parseCoordinatorNetConf(nad()), { ...AGENT, hostRuleTable: 0, vethMTU: 0 });
    assert.equal(c.mode, "auto");
    assert.equal(c.hostRuleTable, 500);
    assert.equal(c.vethMTU, 1500);
    assert.equal(c.podDefaultCniNic, "eth0");
    assert.deepEqual(
      c.hijack.map((h) => h.cidr),
      ["10.244.0.0/16", "10.96.0.0/12", "169.254.0.0/16"],
    );
  });

  it("the NAD's values win, podDefaultRouteNic beats the pod annotation", () => {
    const c = mergeConfig(
      parseCoordinatorNetConf(
        nad({
          mode: "underlay",
          hostRuleTable: 200,
          podDefaultRouteNic: "net2",
          serviceCIDR: ["10.0.0.1"],
          vethMTU: 9000,
        }),
      ),
      { ...AGENT, podDefaultRouteNIC: "net1" },
    );
    assert.equal(c.mode, "underlay");
    assert.equal(c.hostRuleTable, 200);
    assert.equal(c.podDefaultRouteNic, "net2");
    assert.equal(c.vethMTU, 9000);
    assert.deepEqual(
      c.hijack.map((h) => h.cidr),
      ["10.244.0.0/16", "10.0.0.1/32", "169.254.0.0/16"],
    );
  });

  it("NN-2 NN-3 both `disable` and the CR's `disabled` turn the coordinator off (D2)", () => {
    assert.equal(mergeConfig(parseCoordinatorNetConf(nad({ mode: "disable" })), AGENT).mode, "disable");
    assert.equal(mergeConfig(parseCoordinatorNetConf(nad()), { ...AGENT, mode: "disabled" }).mode, "disable");
  });

  it("an unknown mode is refused with upstream's text", () => {
    assert.throws(
      () => mergeConfig(parseCoordinatorNetConf(nad({ mode: "bridge" })), AGENT),
      (e: unknown) => e instanceof CoordinatorModeError && e.message === "unknown tuneMode: bridge",
    );
  });

  const refuses = (extra: Record<string, unknown>, message: string, agent = AGENT): void => {
    assert.throws(
      () => mergeConfig(parseCoordinatorNetConf(nad(extra)), agent),
      (e: unknown) => e instanceof CoordinatorConfigError && e.message === message,
    );
  };

  it("NN-14 MAC prefixes: upstream's regex, then the unicast bit (Q4)", () => {
    const regex =
      "failed to parse config: mac_prefix format should be match regex: [a-fA-F0-9][a-fA-F,0,2-9][:][a-fA-F0-9]{2}, like '0a:1b'";
    refuses({ podMACPrefix: "01:00" }, regex);
    refuses({ podMACPrefix: "0,:00" }, regex);
    refuses({ podMACPrefix: "0a:1b:2c" }, regex);
    refuses(
      { podMACPrefix: "03:00" },
      'failed to parse config: invalid podMACPrefix "03:00": not a unicast MAC: the lowest bit of the first byte must be 0',
    );
    assert.equal(mergeConfig(parseCoordinatorNetConf(nad({ podMACPrefix: "0A-1B" })), AGENT).podMACPrefix, "0a:1b");
    refuses({}, regex, { ...AGENT, podMACPrefix: "01:00" });
  });

  it("policy routes: dst, gw and their families", () => {
    refuses(
      { policyRoutes: [{ dst: "10.10.0.0/33", gw: "172.100.0.1" }] },
      'failed to parse config: invalid route dst "10.10.0.0/33": invalid CIDR address: 10.10.0.0/33',
    );
    refuses({ policyRoutes: [{ dst: "10.10.0.0/16", gw: "gw" }] }, 'failed to parse config: invalid route gw "gw"');
    refuses(
      { policyRoutes: [{ dst: "10.10.0.0/16", gw: "2001:db8::1" }] },
      'failed to parse config: route dst "10.10.0.0/16" and gw "2001:db8::1" must use the same IP family',
    );
    const c = mergeConfig(
      parseCoordinatorNetConf(nad({ policyRoutes: [{ dst: "10.10.1.1", gw: "172.100.0.1" }] })),
      AGENT,
    );
    assert.deepEqual(c.policyRoutes, [{ family: 4, dst: "10.10.1.1/32", gw: "172.100.0.1" }]);
  });

  it("rp_filter, vethMTU, CIDRs, log level", () => {
    refuses({ podRPFilter: 3 }, "failed to parse config: invalid rp_filter value 3, available options: [-1,0,1,2]");
    refuses({ podRPFilter: -2 }, "failed to parse config: invalid rp_filter value -2, available options: [-1,0,1,2]");
    refuses({ vethMTU: -1 }, "failed to parse config: vethMTU must be greater than 0");
    refuses({ serviceCIDR: ["10.96.0.0/40"] }, "failed to parse config: invalid CIDR address: 10.96.0.0/40");
    refuses({ logOptions: { logLevel: "loud" } }, "failed to parse config: unsupported log level loud");
    refuses(
      { mode: 3 },
      "failed to parse config: json: cannot unmarshal number into Go struct field Config.mode of type string",
    );
  });
});

describe("the agent's coordinator config (§1.1)", () => {
  const pod = { metadata: { name: "p", namespace: "ns", annotations: {} as Record<string, string> } };
  const unavailable = (f: () => unknown, reason: string): void =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof CoordinatorConfigUnavailableError);
      assert.equal(
        e.message,
        `failed to GetCoordinatorConfig: [GET /coordinator/config][500] getCoordinatorConfigFailure  ${JSON.stringify(reason)}`,
      );
      return true;
    });

  it("NN-1 a NotReady coordinator refuses", () =>
    unavailable(
      () => agentCoordinatorConfig([scc("NotReady")], pod, "ns", "p"),
      "spidercoordinator: default no ready",
    ));
  it("no coordinator, no pod", () => {
    unavailable(() => agentCoordinatorConfig([], pod, "ns", "p"), "coordinator config not found");
    unavailable(() => agentCoordinatorConfig([scc("Synced")], undefined, "ns", "p"), "failed to get pod ns/p");
  });
  it("status CIDRs, spec values, the pod annotation over podDefaultRouteNIC", () => {
    const c = agentCoordinatorConfig(
      [scc("Synced", { podDefaultRouteNIC: "eth0", hostRuleTable: 200 })],
      { metadata: { annotations: { "ipam.spidernet.io/default-route-nic": "net1" } } },
      "ns",
      "p",
    );
    assert.equal(c.podDefaultRouteNIC, "net1");
    assert.equal(c.hostRuleTable, 200);
    assert.deepEqual(c.overlayPodCIDR, ["10.244.0.0/16"]);
    assert.deepEqual(c.serviceCIDR, ["10.96.0.0/12"]);
    assert.equal(c.tunePodRoutes, true);
  });
});
