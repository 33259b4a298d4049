import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubeClient } from "../kube/client.ts";
import { AgentMetrics, resourceOfPath } from "./metrics.ts";

describe("agent metrics: requests to the API server", () => {
  it("names the resource of a path, never the object", () => {
    const cases: Array<[string, string]> = [
      ["/api/v1/namespaces/ns/pods/p", "pods"],
      ["/api/v1/namespaces/ns/pods?fieldSelector=x", "pods"],
      ["/api/v1/nodes/n1", "nodes"],
      ["/api/v1/namespaces/ns", "namespaces"],
      ["/apis/spiderpool.spidernet.io/v2beta1/spiderippools/p/status", "spiderippools/status"],
      ["/apis/spiderpool.spidernet.io/v2beta1/namespaces/ns/spiderendpoints/e", "spiderendpoints"],
      ["/apis/spiderpool.spidernet.io/v2beta1/spiderippools", "spiderippools"],
    ];
    for (const [path, want] of cases) assert.equal(resourceOfPath(path), want, path);
  });

  it("counts answers by verb, resource and status, and requests that got none as code 0", async () => {
    const m = new AgentMetrics("spiderpool-agent-n1");
    m.apiRequest({ method: "GET", path: "/api/v1/namespaces/ns/pods/p", status: 200, durationMs: 3 });
    // Nothing listens on port 9 of loopback: the request is refused, and counted.
    const client = new KubeClient({ server: "http://127.0.0.1:9" }, { onRequest: (r) => m.apiRequest(r) });
    await assert.rejects(client.request("GET", "/api/v1/nodes/n1"));
    await client.close();
    const text = await m.registry.metrics();
    assert.match(text, /spiderpool_ts_api_requests_total\{[^}]*verb="GET",resource="pods",code="200"[^}]*\} 1/);
    assert.match(text, /spiderpool_ts_api_requests_total\{[^}]*verb="GET",resource="nodes",code="0"[^}]*\} 1/);
    assert.match(text, /spiderpool_ts_api_request_duration_seconds_count\{[^}]*verb="GET",resource="pods"[^}]*\} 1/);
  });
});
