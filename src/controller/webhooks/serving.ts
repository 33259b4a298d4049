/**
 * The admission webhooks of one controller replica: the certificate every replica shares (a
 * Secret), the HTTPS server, registration (by URL in the sandbox and tests, by Service in a
 * cluster) and the hourly renewal check.
 */
import type { Logger } from "pino";
import type { KubeClient } from "../../kube/client.ts";
import type { ControllerConfig } from "../config.ts";
import {
  ALWAYS_REGISTERED,
  COORDINATOR_REGISTERED,
  MULTUS_CONFIG_REGISTERED,
  podRegistered,
  registerWebhooks,
  webhooksRegistered,
} from "./registration.ts";
import { webhookRoutes } from "./routes.ts";
import { WebhookServer } from "./server.ts";
import { dueForRotation, type TlsOptions, type WebhookTls } from "./tls.ts";
import { sharedTls } from "./tls-secret.ts";

const ROTATION_CHECK_MS = 3_600_000;

export interface WebhookServingOptions {
  config: ControllerConfig;
  client: KubeClient;
  log: Logger;
  isLeader: () => boolean;
}

export class WebhookServing {
  readonly #o: WebhookServingOptions;
  #server: WebhookServer | undefined;
  #url = "";
  #tls: WebhookTls | undefined;
  #tlsOpts: TlsOptions = {};
  #rotation: NodeJS.Timeout | undefined;

  constructor(o: WebhookServingOptions) {
    this.#o = o;
  }

  get url(): string {
    return this.#url;
  }

  /** The admission decisions counted so far, per webhook and result. */
  decisions(): { webhook: string; result: string; count: number }[] {
    return this.#server?.counters.entries() ?? [];
  }

  async start(port: number): Promise<void> {
    const c = this.#o.config;
    const serviceDns = [
      `${c.webhookServiceName}.${c.podNamespace}.svc`,
      `${c.webhookServiceName}.${c.podNamespace}.svc.cluster.local`,
    ];
    const tlsOpts = {
      ...(c.tlsCertFile !== undefined ? { certFile: c.tlsCertFile } : {}),
      ...(c.tlsKeyFile !== undefined ? { keyFile: c.tlsKeyFile } : {}),
      ...(c.tlsCaFile !== undefined ? { caFile: c.tlsCaFile } : {}),
      secretName: c.tlsSecretName,
      dnsNames: serviceDns,
      ipAddresses: [c.bindAddress === "0.0.0.0" || c.bindAddress === "::" ? "127.0.0.1" : c.bindAddress],
    };
    this.#tlsOpts = tlsOpts;
    // One certificate for every replica (a Secret), so the registered caBundle verifies them all.
    this.#tls = await sharedTls(this.#o.client, c.podNamespace, tlsOpts);
    const routes = webhookRoutes(this.#o.client, {
      enableIPv4: c.enableIPv4,
      enableIPv6: c.enableIPv6,
      enableSpiderSubnet: c.enableSpiderSubnet,
      enableValidatingResourcesDeletedWebhook: c.enableValidatingResourcesDeletedWebhook,
      enableCoordinator: c.enableCoordinator,
      enableMultusConfig: c.enableMultusConfig,
      podResourceInject: c.podResourceInject.enabled,
      podResourceSteps: c.podResourceSteps,
    });
    const wlog = this.#o.log.child({ part: "webhook" });
    this.#server = new WebhookServer(this.#tls.serving, routes, (level, msg, fields) => wlog[level](fields, msg));
    const url = await this.#server.listen(port, c.bindAddress);
    this.#url = c.webhookUrl ?? url;
    await this.#register(false);
    this.#rotation = setInterval(() => void this.#rotate(), ROTATION_CHECK_MS);
    this.#rotation.unref();
  }

  /** With a URL (sandbox, tests) the API server calls one replica directly; in a cluster, the Service. */
  get #byUrl(): boolean {
    return this.#o.config.webhookUrl !== undefined || this.#o.config.bindAddress.startsWith("127.");
  }

  /**
   * Registers the webhooks. By URL only one replica can be named: the first to start, then
   * the leader on every takeover, so that stopping a replica that is not named never breaks
   * admission, and losing the named one is repaired by the election.
   */
  async #register(asLeader: boolean): Promise<void> {
    const tls = this.#tls as WebhookTls;
    if (this.#byUrl && !asLeader && !this.#o.isLeader() && (await webhooksRegistered(this.#o.client))) return;
    const target = this.#byUrl
      ? { url: this.#url, caPem: tls.caPem }
      : {
          service: { namespace: this.#o.config.podNamespace, name: this.#o.config.webhookServiceName, port: 5722 },
          caPem: tls.caPem,
        };
    await registerWebhooks(this.#o.client, target, [
      ...ALWAYS_REGISTERED,
      ...(this.#o.config.enableMultusConfig ? [MULTUS_CONFIG_REGISTERED] : []),
      ...(this.#o.config.enableCoordinator ? [COORDINATOR_REGISTERED] : []),
      ...(this.#o.config.podResourceInject.enabled
        ? [
            podRegistered(
              this.#o.config.podResourceInject.namespacesExclude,
              this.#o.config.podResourceInject.namespacesInclude,
            ),
          ]
        : []),
    ]);
  }

  async #rotate(): Promise<void> {
    // Another replica may have renewed the shared certificate: the Secret is read at each check.
    if (this.#tls === undefined || (this.#tls.source === "files" && !dueForRotation(this.#tls))) return;
    try {
      const next = await sharedTls(this.#o.client, this.#o.config.podNamespace, this.#tlsOpts);
      if (next.serving.certPem === this.#tls.serving.certPem) return;
      const newCa = next.caPem !== this.#tls.caPem;
      this.#tls = next;
      this.#server?.setCertificate(next.serving);
      if (newCa) await this.#register(false);
      this.#o.log.info("webhook certificate renewed");
    } catch (err) {
      this.#o.log.error({ err }, "webhook certificate renewal failed; retrying within the hour");
    }
  }

  /** On a takeover, by URL: the new leader names itself, so losing the named replica is repaired. */
  registerOnTakeover(): void {
    if (this.#byUrl && this.#server !== undefined)
      this.#register(true).catch((err: unknown) =>
        this.#o.log.error({ err }, "webhook registration on takeover failed"),
      );
  }

  stopRenewal(): void {
    clearInterval(this.#rotation);
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }
}
