import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { handleCni, type CniCall } from "./cni-handler.ts";
import type { IpamService } from "./ipam-service.ts";

const conf = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "macvlan", ipam: { type: "spiderpool" } });
const call = (command: string): CniCall => ({
  role: "ipam",
  command,
  containerID: "c1",
  netns: "/var/run/netns/x",
  ifName: "eth0",
  args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
  path: "/opt/cni/bin",
  stdin: conf,
});

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: "info" }, { write: (l: string) => void lines.push(l) }), lines };
}

describe("CNI handler: DEL logs what it did", () => {
  for (const outcome of ["kept", "nothing"] as const) {
    it(`a DEL whose release was '${outcome}' never logs "released"`, async () => {
      const { log, lines } = capture();
      const service = { release: async () => outcome } as unknown as IpamService;
      const a = await handleCni(call("DEL"), { service, ready: () => true, log });
      assert.equal(a.exitCode, 0);
      assert.ok(!lines.some((l) => l.includes('"msg":"released"')), lines.join(""));
    });
  }

  it('a DEL that released logs "released" once', async () => {
    const { log, lines } = capture();
    const service = { release: async () => "released" } as unknown as IpamService;
    await handleCni(call("DEL"), { service, ready: () => true, log });
    assert.equal(lines.filter((l) => l.includes('"msg":"released"')).length, 1);
  });
});

describe("CNI handler: errors mapped once", () => {
  it("a transient failure of an ADD is 11 with upstream's wrapping; an exhausted pool 999", async () => {
    const fail = (err: Error) =>
      handleCni(call("ADD"), {
        service: { allocate: async () => Promise.reject(err) } as unknown as IpamService,
        ready: () => true,
        log: pino({ level: "silent" }),
      });
    const transient = Object.assign(new Error("PUT /x: 503"), { code: "ERR_API_RETRIES_EXHAUSTED" });
    const t = JSON.parse((await fail(transient)).stdout) as { code: number; msg: string };
    assert.equal(t.code, 11);
    assert.match(t.msg, /^spiderpool IP allocation error: \[POST \/ipam\/ip\]\[500\] postIpamIpFailure {2}PUT/);
    const used = Object.assign(new Error("all IP addresses used out"), { code: "ERR_IP_USED_OUT" });
    assert.equal((JSON.parse((await fail(used)).stdout) as { code: number }).code, 999);
  });

  it("an invalid CNI environment is 4 before the service is asked", async () => {
    let asked = false;
    const service = {
      allocate: async () => {
        asked = true;
        return { ips: [], routes: [] };
      },
    } as unknown as IpamService;
    const a = await handleCni(
      { ...call("ADD"), containerID: "" },
      { service, ready: () => true, log: pino({ level: "silent" }) },
    );
    assert.equal((JSON.parse(a.stdout) as { code: number }).code, 4);
    assert.equal(asked, false);
  });
});
