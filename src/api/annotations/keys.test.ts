import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrLabelValue } from "./keys.ts";

describe("CIDR label value", () => {
  it("the spec's examples", () => {
    assert.equal(cidrLabelValue("172.18.40.0/24"), "172-18-40-0-24");
    assert.equal(cidrLabelValue("fd00::/64"), "fd00---64");
    assert.equal(cidrLabelValue("10.6.0.0/16"), "10-6-0-0-16");
  });
  it("replaces at most 7 colons", () => {
    assert.equal(cidrLabelValue("2001:db8:1:2:3:4:5:6/128"), "2001-db8-1-2-3-4-5-6-128");
  });
});
