import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateCniEnv, type CniEnv } from "./env.ts";
import { CniError } from "./errors.ts";
import { addFailure, ALLOCATION_ERROR_PREFIX, cniErrorOf } from "./map-error.ts";
import { parseNetConf } from "./config.ts";

/** An error as the project raises them: a stable `code`, an HTTP `status` for API answers. */
function coded(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

const used = coded(
  "ERR_ALLOCATION_FAILED",
  "failed to allocate any IPv4 IP address to NIC eth0 from IPPools [a]: all IP addresses used out",
);

describe("CNI error mapping (one table)", () => {
  const cases: Array<[string, unknown, number]> = [
    ["API server unreachable", coded("ERR_KUBE_TRANSPORT", "PUT /x: connect ECONNREFUSED"), 11],
    ["request timed out", coded("ERR_KUBE_TRANSPORT", "GET /x: no answer within 30000 ms"), 11],
    ["API 500", coded("ERR_KUBE_API", "500", { status: 500 }), 11],
    ["API 429", coded("ERR_KUBE_API", "429", { status: 429 }), 11],
    ["API 503", coded("ERR_KUBE_API", "503", { status: 503 }), 11],
    ["API 504", coded("ERR_KUBE_API", "504", { status: 504 }), 11],
    ["API retries spent", coded("ERR_API_RETRIES_EXHAUSTED", "gave up"), 11],
    ["pool write retries spent", coded("ERR_RETRIES_EXHAUSTED", "exhaust all retries (5 times)"), 11],
    ["endpoint conflicts spent", coded("ERR_CONFLICT_RETRIES_EXHAUSTED", "gave up"), 11],
    [
      "an allocation whose cause was transient",
      coded("ERR_ALLOCATION_FAILED", "failed", { cause: coded("ERR_RETRIES_EXHAUSTED", "exhaust all retries") }),
      11,
    ],
    ["AbortSignal.timeout", Object.assign(new Error("t"), { name: "TimeoutError" }), 11],
    ["API 404", coded("ERR_KUBE_API", "404", { status: 404 }), 999],
    ["API 422", coded("ERR_KUBE_API", "422", { status: 422 }), 999],
    ["pool used out", used, 999],
    ["all pools filtered", coded("ERR_ALL_POOLS_FILTERED", "no IPPool available"), 999],
    ["dead pod", coded("ERR_DEAD_POD", "dead Pod"), 999],
    ["a plain error", new Error("boom"), 999],
    ["a CNI error keeps its code", new CniError(7, "invalid network configuration"), 7],
  ];
  for (const [name, err, code] of cases) {
    it(`${name} -> ${code}`, () => {
      assert.equal(addFailure(err).cniCode, code);
      assert.equal(cniErrorOf(err).cniCode, code);
    });
  }

  it("ADD failures keep upstream's wrapping and message", () => {
    assert.equal(addFailure(used).msg, `${ALLOCATION_ERROR_PREFIX}${used.message}`);
    assert.equal(addFailure(used).toJSON("1.0.0")["details"], undefined);
  });

  it("undecodable stdin is 6, an invalid netconf 7", () => {
    assert.throws(
      () => parseNetConf("{"),
      (e: unknown) => e instanceof CniError && e.cniCode === 6,
    );
    assert.throws(
      () => parseNetConf('{"cniVersion":"1.0.0"}'),
      (e: unknown) => e instanceof CniError && e.cniCode === 7,
    );
  });
});

describe("CNI environment (code 4)", () => {
  const ok: CniEnv = {
    command: "ADD",
    containerID: "c0ffee",
    netns: "/var/run/netns/x",
    ifName: "eth0",
    path: "/opt/cni/bin",
  };
  const refused = (env: Partial<CniEnv>, details: RegExp): void => {
    assert.throws(
      () => validateCniEnv({ ...ok, ...env }),
      (e: unknown) => e instanceof CniError && e.cniCode === 4 && details.test(e.details),
    );
  };

  it("a complete ADD passes; DEL needs no netns; GC, STATUS and VERSION need none of them", () => {
    validateCniEnv(ok);
    validateCniEnv({ ...ok, command: "DEL", netns: "" });
    for (const command of ["GC", "STATUS", "VERSION"])
      validateCniEnv({ command, containerID: "", netns: "", ifName: "", path: "" });
    // A caller that does not forward CNI_PATH is not judged on it.
    validateCniEnv({ ...ok, path: undefined });
  });

  it("the variables each command requires", () => {
    refused({ containerID: "" }, /^CNI_CONTAINERID is required for ADD$/);
    refused({ netns: "" }, /^CNI_NETNS is required for ADD$/);
    refused({ path: "" }, /^CNI_PATH is required for ADD$/);
    refused({ ifName: "" }, /^CNI_IFNAME is required for ADD$/);
    refused({ command: "DEL", containerID: "" }, /^CNI_CONTAINERID is required for DEL$/);
    refused({ command: "CHECK", netns: "" }, /^CNI_NETNS is required for CHECK$/);
    refused({ command: "FLY" }, /^unknown CNI_COMMAND 'FLY'$/);
  });

  it("container IDs as libcni accepts them", () => {
    validateCniEnv({ ...ok, containerID: "a_b.c-d9" });
    refused({ containerID: "-abc" }, /^CNI_CONTAINERID/);
    refused({ containerID: "a/b" }, /^CNI_CONTAINERID/);
  });

  it("interface names as the kernel accepts them", () => {
    validateCniEnv({ ...ok, ifName: "net1.100" });
    validateCniEnv({ ...ok, ifName: "a".repeat(15) });
    refused({ ifName: "a".repeat(16) }, /longer than 15 bytes/);
    refused({ ifName: "x".repeat(1000) }, /longer than 15 bytes/);
    refused({ ifName: "é".repeat(8) }, /longer than 15 bytes/);
    refused({ ifName: "." }, /not a valid name/);
    refused({ ifName: ".." }, /not a valid name/);
    refused({ ifName: "eth/0" }, /'\/'/);
    refused({ ifName: "eth:0" }, /'\/'/);
    refused({ ifName: "eth 0" }, /'\/'/);
    refused({ ifName: "eth\u00010" }, /control/);
    refused({ ifName: "eth\uFFFD" }, /UTF-8/);
  });
});
