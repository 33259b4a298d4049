/**
 * IP-conflict and gateway detection in the IPAM ADD (spec §1.12), run after the allocation:
 * the pod's interface set up, IPv4 and IPv6 probed concurrently inside the pod's namespace
 * with the spec's retries, read deadline and caps, and on success every address of the
 * interface announced. A conflict or an unreachable gateway gives the whole allocation back
 * (the release path DEL uses) before the ADD fails. detect-plan.ts decides what is probed.
 */
import type { Logger } from "pino";
import type { NetnsRef } from "../host/model.ts";
import type { HostNetwork, ProbeAnswer } from "../host/network.ts";
import type { Clock, Timer } from "../kube/clock.ts";
import type { AddRequest, AddResponse } from "./add-flow.ts";
import { migrationJobOf, planDetection, type AddressChecks, type DetectSwitches } from "./detect-plan.ts";
import { DetectionFailedError, GatewayUnreachableError, IpConflictError } from "./detection-errors.ts";
import type { NodeView } from "./flow-deps.ts";

/** Upstream's constants. */
export const DETECTION = {
  retries: 3,
  readMs: 100,
  v4ConflictCapMs: 1000,
  v4GatewayCapMs: 500,
  /** IPv6's deadline is set once for all its tries. */
  v6CapMs: 100,
  dadCapMs: 10_000,
  /** How often the link-local address is looked at while DAD runs. */
  dadPollMs: 20,
} as const;

export type ProbeOutcome = "clear" | "conflict" | "reachable" | "unreachable" | "error";

export interface DetectionMetrics {
  probe(family: 4 | 6, purpose: "conflict" | "gateway", outcome: ProbeOutcome, seconds: number): void;
}

export interface DetectDeps {
  /** Undefined when the host addon is not loadable: detection, when switched on, then fails the ADD. */
  host: HostNetwork | undefined;
  clock: Clock;
  view: Pick<NodeView, "getPod">;
  switches: DetectSwitches;
  /** Whether the VirtualMachineInstanceMigration exists (KubeVirt live migration). */
  migrationExists(ns: string, name: string): Promise<boolean>;
  /** Gives back everything the pod's endpoint holds (DEL's release path). */
  release(req: AddRequest, log: Logger): Promise<void>;
  metrics?: DetectionMetrics;
}

export class DetectFlow {
  readonly #d: DetectDeps;

  constructor(d: DetectDeps) {
    this.#d = d;
  }

  get enabled(): boolean {
    return this.#d.switches.ipConflict || this.#d.switches.gateway;
  }

  /** Probes `res`'s addresses of `req.ifName`; throws after releasing on a conflict or an unreachable gateway. */
  async run(req: AddRequest, res: AddResponse, log: Logger): Promise<void> {
    if (!this.enabled) return;
    const plan = planDetection(req.ifName, res.ips, this.#d.switches, await this.#migrationTarget(req, log));
    if (plan === undefined) return;
    const host = this.#d.host;
    if (host === undefined)
      throw new DetectionFailedError(
        "IP conflict or gateway detection is enabled, but this agent cannot reach pod namespaces (the host addon is not loadable)",
      );
    const ns: NetnsRef = { kind: "path", path: req.netns };
    const up = await host.apply([{ op: "link.set", ns, name: req.ifName, up: true }]);
    if (up !== undefined) throw new DetectionFailedError(`failed to set ${req.ifName} up: ${up.message}`);
    const byFamily = (f: 4 | 6): AddressChecks[] => plan.checks.filter((c) => c.family === f);
    // The first family to fail ends the other's wait for DAD: the ADD has its answer.
    const done = { stopped: false };
    try {
      await Promise.all([
        this.#family(host, ns, req.ifName, byFamily(4), done, log),
        this.#family(host, ns, req.ifName, byFamily(6), done, log),
      ]).finally(() => (done.stopped = true));
    } catch (err) {
      if (err instanceof IpConflictError || err instanceof GatewayUnreachableError) {
        log.warn({ err: err.message }, "detection failed; releasing the allocation");
        try {
          await this.#d.release(req, log);
        } catch (rel) {
          // The ADD fails all the same; the records stay with the pod until DEL or GC.
          log.error({ err: (rel as Error).message }, "could not release the allocation after a failed detection");
        }
      }
      throw err;
    }
    for (const address of plan.announce) {
      const failed = await host.apply([{ op: "announce", ns, dev: req.ifName, address }]);
      if (failed !== undefined) log.warn({ address, err: failed.message }, "could not announce the address");
    }
    log.debug({ checks: plan.checks, announced: plan.announce }, "detection passed");
  }

  /**
   * The switches as they apply to this pod: what upstream's agent sets on the IPConfigs of its
   * `POST /v1/ipam/ip` answer (`enableIPConflictDetection`, `enableGatewayDetection`).
   */
  async flags(req: AddRequest, log: Logger): Promise<DetectSwitches> {
    const on = this.#d.switches;
    return { ipConflict: on.ipConflict && !(await this.#migrationTarget(req, log)), gateway: on.gateway };
  }

  async #migrationTarget(req: AddRequest, log: Logger): Promise<boolean> {
    if (!this.#d.switches.ipConflict) return false;
    const pod = await this.#d.view.getPod(req.podNamespace, req.podName);
    const job = pod === undefined ? undefined : migrationJobOf(pod.metadata);
    if (job === undefined) return false;
    const exists = await this.#d.migrationExists(req.podNamespace, job);
    if (exists) log.info({ migration: job }, "KubeVirt live-migration target: no IP conflict detection");
    return exists;
  }

  /** One family's checks in order; IPv6 first waits for the interface's link-local address. */
  async #family(
    host: HostNetwork,
    ns: NetnsRef,
    ifName: string,
    checks: readonly AddressChecks[],
    done: { stopped: boolean },
    log: Logger,
  ): Promise<void> {
    if (checks.length === 0) return;
    try {
      if (checks[0]?.family === 6) await this.#linkLocalReady(host, ns, ifName, done);
    } catch (err) {
      if (done.stopped) return;
      throw err;
    }
    for (const c of checks) {
      if (done.stopped) return;
      if (c.conflict) await this.#conflict(host, ns, ifName, c, log);
      if (c.gateway !== undefined) await this.#gateway(host, ns, ifName, c, c.gateway, log);
    }
  }

  async #conflict(host: HostNetwork, ns: NetnsRef, ifName: string, c: AddressChecks, log: Logger): Promise<void> {
    const v4 = c.family === 4;
    const answer = await this.#probe(
      host,
      ns,
      ifName,
      c,
      "conflict",
      c.ip,
      v4 ? DETECTION.v4ConflictCapMs : DETECTION.v6CapMs,
    );
    if (answer === "cap" && v4)
      throw new DetectionFailedError(
        `failed to detect IPv4 address conflicting, more than the max timeout: ${DETECTION.v4ConflictCapMs / 1000}s`,
      );
    if (answer !== "cap" && answer.answered) {
      log.warn({ ip: c.ip, mac: answer.mac }, "another host answers for the allocated address");
      throw new IpConflictError(ifName, c.ip, answer.mac ?? "");
    }
  }

  async #gateway(
    host: HostNetwork,
    ns: NetnsRef,
    ifName: string,
    c: AddressChecks,
    gw: string,
    log: Logger,
  ): Promise<void> {
    const cap = c.family === 4 ? DETECTION.v4GatewayCapMs : DETECTION.v6CapMs;
    const answer = await this.#probe(host, ns, ifName, c, "gateway", gw, cap);
    if (answer === "cap" || !answer.answered) throw new GatewayUnreachableError(gw);
    log.debug({ gateway: gw, mac: answer.mac }, "gateway answered");
  }

  /** One probe under its overall cap; "cap" when the cap passed first (the probe ends by its own deadlines). */
  async #probe(
    host: HostNetwork,
    ns: NetnsRef,
    ifName: string,
    c: AddressChecks,
    purpose: "conflict" | "gateway",
    target: string,
    capMs: number,
  ): Promise<ProbeAnswer | "cap"> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let timer: Timer | undefined;
    const capped = new Promise<"cap">((resolve) => {
      timer = this.#d.clock.after(capMs, () => resolve("cap"));
    });
    const probing = host.probe({
      ns,
      dev: ifName,
      family: c.family,
      purpose,
      target,
      // IPv6 sends from the link-local address the host layer finds.
      ...(purpose === "gateway" && c.family === 4 ? { source: c.ip } : {}),
      retries: DETECTION.retries,
      timeoutMs: DETECTION.readMs,
    });
    let out: ProbeAnswer | "cap";
    try {
      out = await Promise.race([probing, capped]);
    } catch (err) {
      this.#d.metrics?.probe(c.family, purpose, "error", seconds());
      const what =
        purpose === "conflict"
          ? `failed to detect IPv${c.family} address conflict after three attempts`
          : `failed to detect gateway reachable after retry ${DETECTION.retries} times`;
      throw new DetectionFailedError(`${what}: ${(err as Error).message}`, { cause: err });
    } finally {
      timer?.cancel();
    }
    if (out === "cap") probing.catch(() => undefined);
    const answered = out !== "cap" && out.answered;
    const outcome: ProbeOutcome =
      purpose === "conflict" ? (answered ? "conflict" : "clear") : answered ? "reachable" : "unreachable";
    this.#d.metrics?.probe(c.family, purpose, outcome, seconds());
    return out;
  }

  /** Until the interface's link-local address has passed DAD (an NDP socket can bind it), at most 10 s. */
  async #linkLocalReady(host: HostNetwork, ns: NetnsRef, ifName: string, done: { stopped: boolean }): Promise<void> {
    const clock = this.#d.clock;
    const deadline = clock.now() + DETECTION.dadCapMs;
    while (!done.stopped) {
      const st = await host.observe(ns);
      const link = st.links.find((l) => l.name === ifName);
      const ready = st.addresses.some(
        (a) => a.linkIndex === link?.index && a.family === 6 && a.scope === "link" && a.tentative !== true,
      );
      if (ready) return;
      if (clock.now() >= deadline)
        throw new DetectionFailedError(
          `waiting for the maximum timeout of ${DETECTION.dadCapMs / 1000}s, the state of the local link address is still not READY`,
        );
      await clock.sleep(DETECTION.dadPollMs);
    }
  }
}
