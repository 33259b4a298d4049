/**
 * authentication.k8s.io/v1 TokenRequest and authorization.k8s.io/v1
 * SelfSubjectAccessReview, as `kubectl create token` and `kubectl auth can-i` send them.
 * Field numbers from k8s.io/api {authentication,authorization}/v1/generated.proto.
 */
import { f, list, message, ptr } from "./message.ts";
import { ObjectMeta } from "./meta.ts";

export const TokenRequest = message("k8s.io.api.authentication.v1.TokenRequest", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.authentication.v1.TokenRequestSpec", {
      1: list("audiences", "string"),
      3: ptr(
        "boundObjectRef",
        message("k8s.io.api.authentication.v1.BoundObjectReference", {
          1: f("kind", "string"),
          2: f("apiVersion", "string"),
          3: f("name", "string"),
          4: f("uid", "string"),
        }),
      ),
      4: ptr("expirationSeconds", "int64"),
    }),
  ),
  3: f("status", message("k8s.io.api.authentication.v1.TokenRequestStatus", {})),
});

export const SelfSubjectAccessReview = message("k8s.io.api.authorization.v1.SelfSubjectAccessReview", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.authorization.v1.SelfSubjectAccessReviewSpec", {
      1: ptr(
        "resourceAttributes",
        message("k8s.io.api.authorization.v1.ResourceAttributes", {
          1: f("namespace", "string"),
          2: f("verb", "string"),
          3: f("group", "string"),
          4: f("version", "string"),
          5: f("resource", "string"),
          6: f("subresource", "string"),
          7: f("name", "string"),
        }),
      ),
      2: ptr(
        "nonResourceAttributes",
        message("k8s.io.api.authorization.v1.NonResourceAttributes", {
          1: f("path", "string"),
          2: f("verb", "string"),
        }),
      ),
    }),
  ),
  3: f("status", message("k8s.io.api.authorization.v1.SubjectAccessReviewStatus", {})),
});
