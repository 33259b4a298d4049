import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RequestMetrics, requestLabels } from "./request-metrics.ts";

const q = (s = ""): URLSearchParams => new URLSearchParams(s);

describe("apiserver request metrics", () => {
  it("names the verb and resource as kube-apiserver does", () => {
    assert.deepEqual(requestLabels("GET", "/api/v1/namespaces/default/pods", q(), 200), {
      verb: "LIST",
      resource: "pods",
      subresource: "",
      code: 200,
    });
    assert.equal(requestLabels("GET", "/api/v1/namespaces/default/pods/p", q(), 200)?.verb, "GET");
    assert.equal(requestLabels("GET", "/api/v1/pods", q("watch=true"), 200)?.verb, "WATCH");
    assert.equal(requestLabels("GET", "/api/v1/watch/namespaces/x/pods", q(), 200)?.verb, "WATCH");
    assert.deepEqual(requestLabels("PUT", "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/p1/status", q(), 409), {
      verb: "PUT",
      resource: "spiderippools",
      subresource: "status",
      code: 409,
    });
    assert.equal(requestLabels("DELETE", "/api/v1/namespaces/d/pods", q(), 200)?.verb, "DELETECOLLECTION");
    assert.equal(requestLabels("GET", "/healthz", q(), 200), undefined);
    assert.equal(requestLabels("GET", "/apis/spiderpool.spidernet.io", q(), 200), undefined);
  });

  it("counts each verb, resource and code apart", () => {
    const m = new RequestMetrics();
    const put = requestLabels("PUT", "/apis/g/v1/things/a/status", q(), 200);
    const conflict = requestLabels("PUT", "/apis/g/v1/things/a/status", q(), 409);
    const get = requestLabels("GET", "/apis/g/v1/things/a", q(), 200);
    for (const l of [put, put, conflict, get, get]) if (l !== undefined) m.observe(l);
    assert.match(
      m.render(),
      /^apiserver_request_total\{code="409",resource="things",subresource="status",verb="PUT"\} 1$/m,
    );
    assert.match(
      m.render(),
      /^apiserver_request_total\{code="200",resource="things",subresource="status",verb="PUT"\} 2$/m,
    );
    assert.match(m.render(), /verb="GET"\} 2$/m);
  });
});
