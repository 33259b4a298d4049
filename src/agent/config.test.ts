import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AgentConfigError, loadAgentConfig as load } from "./config.ts";

const BASE = { SPIDERPOOL_POD_NAMESPACE: "kube-system", SPIDERPOOL_POD_NAME: "agent", SPIDERPOOL_NODE_NAME: "n1" };
const loadAgentConfig = (env: Record<string, string>): ReturnType<typeof load> => load({ ...BASE, ...env });

describe("agent config: SPIDERPOOL_TS_POOL_WATCH", () => {
  it("follows pools' metadata by default, their bodies when asked", () => {
    assert.equal(loadAgentConfig({}).poolWatch, "metadata");
    assert.equal(loadAgentConfig({ SPIDERPOOL_TS_POOL_WATCH: "" }).poolWatch, "metadata");
    assert.equal(loadAgentConfig({ SPIDERPOOL_TS_POOL_WATCH: "full" }).poolWatch, "full");
    assert.equal(loadAgentConfig({ SPIDERPOOL_TS_POOL_WATCH: "metadata" }).poolWatch, "metadata");
  });

  it("refuses any other value with the variable's name", () => {
    assert.throws(
      () => loadAgentConfig({ SPIDERPOOL_TS_POOL_WATCH: "Metadata" }),
      (e: unknown) => e instanceof AgentConfigError && /SPIDERPOOL_TS_POOL_WATCH='Metadata'/.test(e.message),
    );
  });
});
