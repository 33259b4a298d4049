// Writes deploy/webhooks.yaml: the two spiderpool-controller webhook configurations of spec
// §2.0, pointing at the Service. caBundle is empty here; the controller fills it at start
// with the CA of the certificate it serves. The drift test
// (src/controller/webhooks/registration.test.ts) fails until the file matches.
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderWebhookManifest } from "../src/controller/webhooks/registration.ts";

const file = resolve(dirname(fileURLToPath(import.meta.url)), "..", "deploy", "webhooks.yaml");
writeFileSync(file, renderWebhookManifest());
console.log("wrote deploy/webhooks.yaml");
