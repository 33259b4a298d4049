import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import type { PodLike } from "./pod.ts";
import { injectDeviceResources, podResourceSteps, referencedNetworks, type PodResourceSteps } from "./pod-resources.ts";
import { AdmissionDenied } from "./verdict.ts";

const smc = (name: string, spec: SpiderMultusConfig["spec"]): SpiderMultusConfig => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderMultusConfig",
  metadata: { name, namespace: "default" },
  spec,
});
type Res = { limits?: Record<string, string>; requests?: Record<string, string> };
const pod = (annotations: Record<string, string>, resources: Res[] = [{}, {}]): PodLike => ({
  metadata: { name: "p", namespace: "app", annotations },
  spec: { containers: resources.map((r) => ({ resources: r })) },
});
const fail = (m: string) => new Error(m);

describe("pod webhook: master-NIC and sub-ENI steps (spiderpool-api §2.6 steps 2, 3)", () => {
  const plugin = (adv: unknown, extra: Record<string, unknown> = {}) => ({
    agent: { networkResourcePlugin: { enabled: true, resourceAdvertisement: adv } },
    ...extra,
  });
  const confCases: [string, Record<string, unknown>, PodResourceSteps][] = [
    ["nothing configured", {}, { masterNIC: false, subENI: undefined }],
    [
      "rules but plugin off",
      { agent: { networkResourcePlugin: { enabled: false, resourceAdvertisement: { masterNIC: { rules: [{}] } } } } },
      { masterNIC: false, subENI: undefined },
    ],
    ["plugin on, no masterNIC rule", plugin({}), { masterNIC: false, subENI: undefined }],
    ["plugin on, a masterNIC rule", plugin({ masterNIC: { rules: [{}] } }), { masterNIC: true, subENI: undefined }],
    [
      "subENI rules without a provider",
      plugin({ subENI: { rules: [{ resourceName: "x.io/eni" }] } }),
      { masterNIC: false, subENI: undefined },
    ],
    [
      "provider: the first rule's resource",
      plugin(
        { subENI: { rules: [{ resourceName: "x.io/eni" }, { resourceName: "y" }] } },
        {
          iaasNetworkProvider: { serverUrl: "http://iaas" },
        },
      ),
      { masterNIC: false, subENI: "x.io/eni" },
    ],
    [
      "provider, no rule name: the default resource",
      plugin({}, { iaasNetworkProvider: { serverUrl: "http://iaas" } }),
      { masterNIC: false, subENI: "spidernet.io/sub-eni" },
    ],
  ];
  for (const [what, conf, want] of confCases)
    it(`conf: ${what}`, () => assert.deepEqual(podResourceSteps(conf, fail), want));

  it("conf: a malformed key is refused by name", () => {
    assert.throws(
      () => podResourceSteps({ agent: { networkResourcePlugin: { enabled: "yes" } } }, fail),
      /enabled must be/,
    );
    assert.throws(
      () => podResourceSteps(plugin({ masterNIC: { rules: {} } }), fail),
      /masterNIC\.rules must be a list/,
    );
  });

  it("references: default network and networks, JSON or text, in the pod's namespace by default", () => {
    const refs = referencedNetworks(
      pod({
        "v1.multus-cni.io/default-network": "kube-system/calico",
        "k8s.v1.cni.cncf.io/networks": '[{"name":"a"},{"name":"b","namespace":"x","interface":"net9"}]',
      }),
    );
    assert.deepEqual(
      refs.map((r) => `${r.namespace}/${r.name}`),
      ["kube-system/calico", "app/a", "x/b"],
    );
    assert.deepEqual(
      referencedNetworks(pod({ "k8s.v1.cni.cncf.io/networks": "a@net1, y/b" })).map((r) => `${r.namespace}/${r.name}`),
      ["app/a", "y/b"],
    );
    assert.throws(
      () => referencedNetworks(pod({ "k8s.v1.cni.cncf.io/networks": "[{" })),
      (e: unknown) => e instanceof AdmissionDenied,
    );
  });

  const both: PodResourceSteps = { masterNIC: true, subENI: "spidernet.io/sub-eni" };
  const mac = smc("m", { cniType: "macvlan", macvlan: { master: ["ens5", "ens4"] } });
  const ipoib = smc("i", { cniType: "ipoib", ipoib: { master: "ib0" } });
  const vlanAuto = smc("v", { cniType: "vlan", vlan: { master: ["ens4"], vlanMode: "auto" } });
  const vlanManual = smc("w", { cniType: "vlan", vlan: { master: ["ens6"], vlanMode: "manual" } });
  const sriov = smc("s", { cniType: "sriov", sriov: { resourceName: "r" } });
  const cases: [string, PodResourceSteps, Res[], SpiderMultusConfig[], Res[]][] = [
    [
      "each master once, sorted, requests and limits on the first container; sriov has none",
      { masterNIC: true, subENI: undefined },
      [{}, {}],
      [mac, ipoib, vlanManual, sriov, mac],
      [
        {
          requests: {
            "spidernet.io/ens4-nic": "1",
            "spidernet.io/ens5-nic": "1",
            "spidernet.io/ens6-nic": "1",
            "spidernet.io/ib0-nic": "1",
          },
          limits: {
            "spidernet.io/ens4-nic": "1",
            "spidernet.io/ens5-nic": "1",
            "spidernet.io/ens6-nic": "1",
            "spidernet.io/ib0-nic": "1",
          },
        },
        {},
      ],
    ],
    [
      "a master another container already requests is skipped",
      { masterNIC: true, subENI: undefined },
      [{}, { limits: { "spidernet.io/ens4-nic": "2" } }],
      [vlanManual, smc("x", { cniType: "ipvlan", ipvlan: { master: ["ens4"] } })],
      [
        { requests: { "spidernet.io/ens6-nic": "1" }, limits: { "spidernet.io/ens6-nic": "1" } },
        { limits: { "spidernet.io/ens4-nic": "2" } },
      ],
    ],
    [
      "sub-ENI slots: one per auto-VLAN reference",
      { masterNIC: false, subENI: "x.io/eni" },
      [{}],
      [vlanAuto, vlanManual, vlanAuto, mac],
      [{ requests: { "x.io/eni": "2" }, limits: { "x.io/eni": "2" } }],
    ],
    ["sub-ENI: none when no auto VLAN", { masterNIC: false, subENI: "x.io/eni" }, [{}], [vlanManual], [{}]],
    [
      "sub-ENI: left alone when a container has it",
      { masterNIC: false, subENI: "x.io/eni" },
      [{}, { requests: { "x.io/eni": "5" } }],
      [vlanAuto],
      [{}, { requests: { "x.io/eni": "5" } }],
    ],
    [
      "both steps",
      both,
      [{ limits: { cpu: "1" } }],
      [vlanAuto],
      [
        {
          limits: { cpu: "1", "spidernet.io/ens4-nic": "1", "spidernet.io/sub-eni": "1" },
          requests: { "spidernet.io/ens4-nic": "1", "spidernet.io/sub-eni": "1" },
        },
      ],
    ],
    ["steps off: unchanged", { masterNIC: false, subENI: undefined }, [{}], [mac, vlanAuto], [{}]],
  ];
  for (const [what, steps, before, smcs, after] of cases)
    it(what, () => {
      const out = injectDeviceResources(pod({}, before), steps, smcs);
      assert.deepEqual(
        out.spec?.containers?.map((c) => c.resources),
        after,
      );
    });
});
