/**
 * The coordinator's CNI flows (§1.4, §1.11): read the netconf and the agent's config, observe
 * the pod and the node, plan, apply, and answer as the plugin would. Everything that touches a
 * namespace goes through the HostNetwork given; every failure leaves here as a CNI error object
 * with upstream's text, and every call leaves one log line and one metric sample.
 */
import type { Logger } from "pino";
import { parseCniArgs } from "../cni/args.ts";
import type { CniError } from "../cni/errors.ts";
import { convertPrevResult } from "../cni/prev-result.ts";
import type { CniVersion } from "../cni/version.ts";
import type { NetnsRef } from "../host/model.ts";
import type { HostNetwork } from "../host/network.ts";
import { mergeConfig, type AgentCoordinatorConfig, type CoordinatorConfig } from "./config.ts";
import {
  CoordinatorApplyError,
  CoordinatorConfigError,
  CoordinatorConfigUnavailableError,
  CoordinatorNetnsError,
  CoordinatorStateError,
  q,
  toCniError,
} from "./errors.ts";
import { randomLocalMac } from "./mac.ts";
import type { PluginMetrics } from "./metrics.ts";
import { parseCoordinatorNetConf, type CoordinatorNetConf } from "./netconf.ts";
import { isRoutable, podFacts } from "./pod-facts.ts";
import { planAdd, planDel } from "./planner.ts";

/** A call as the shim forwards it (the agent's CniCall, structurally). */
export interface PluginCall {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  stdin: string;
}

export interface PluginAnswer {
  exitCode: number;
  stdout: string;
}

export interface CoordinatorDeps {
  host: HostNetwork;
  /** The node's namespace: the agent's own, or the one of a simulated node in tests. */
  hostNs: NetnsRef;
  /** The agent's answer for a pod (§1.1); throws CoordinatorConfigUnavailableError with the spec's text. */
  agentConfig: (podNamespace: string, podName: string) => Promise<AgentCoordinatorConfig>;
  randomBytes: (n: number) => Uint8Array;
  metrics?: PluginMetrics;
}

interface Outcome {
  stdout: string;
  fields: Record<string, unknown>;
}

async function loadConfig(
  call: PluginCall,
  deps: CoordinatorDeps,
): Promise<{ nad: CoordinatorNetConf; config: CoordinatorConfig }> {
  const nad = parseCoordinatorNetConf(call.stdin);
  let args: ReturnType<typeof parseCniArgs>;
  try {
    args = parseCniArgs(call.args);
  } catch (err) {
    throw new CoordinatorConfigError(`failed to load CNI ENV args: ${(err as Error).message}`);
  }
  let agent: AgentCoordinatorConfig;
  try {
    agent = await deps.agentConfig(args.podNamespace ?? "", args.podName ?? "");
  } catch (err) {
    if (err instanceof CoordinatorConfigUnavailableError) throw err;
    throw new CoordinatorConfigUnavailableError(`failed to GetCoordinatorConfig: ${(err as Error).message}`);
  }
  return { nad, config: mergeConfig(nad, agent) };
}

/** §1.4 step 3: the runtime's path must be a namespace. */
async function checkNetns(host: HostNetwork, path: string): Promise<boolean> {
  try {
    return await host.netnsExists(path);
  } catch (err) {
    throw new CoordinatorNetnsError(`failed to GetNS ${q(path)}: ${(err as Error).message}`);
  }
}

function passThrough(nad: CoordinatorNetConf, version: CniVersion): string {
  if (nad.prevResult === undefined) {
    throw new CoordinatorConfigError(
      "failed to parse prevResult: the netconf has no prevResult (coordinator must be chained)",
    );
  }
  return `${JSON.stringify(convertPrevResult(nad.prevResult, version))}\n`;
}

async function add(call: PluginCall, deps: CoordinatorDeps): Promise<Outcome> {
  const { nad, config } = await loadConfig(call, deps);
  const stdout = passThrough(nad, nad.cniVersion);
  if (config.mode === "disable") return { stdout, fields: { mode: "disable" } };
  if (!(await checkNetns(deps.host, call.netns))) {
    throw new CoordinatorNetnsError(
      `failed to GetNS ${q(call.netns)}: failed to Statfs ${q(call.netns)}: no such file or directory`,
    );
  }
  const pod: NetnsRef = { kind: "path", path: call.netns };
  const [podState, hostState] = await Promise.all([deps.host.observe(pod), deps.host.observe(deps.hostNs)]);
  const facts = podFacts(podState, call.ifName);
  let routeSources: (string | undefined)[];
  try {
    routeSources = await Promise.all(
      facts.allPodIPs.map(async (a) => (await deps.host.routeGet(deps.hostNs, a.address))?.src),
    );
  } catch (err) {
    throw new CoordinatorStateError(`failed to get IPAddressOnNode: ${(err as Error).message}`);
  }
  const plan = planAdd({
    config,
    containerID: call.containerID,
    ifName: call.ifName,
    cniArgs: call.args,
    pod,
    host: deps.hostNs,
    podState,
    hostState,
    routeSources,
    macs: { podVeth: randomLocalMac(deps.randomBytes(6)), hostVeth: randomLocalMac(deps.randomBytes(6)) },
  });
  const fields: Record<string, unknown> = {
    mode: plan.decision.mode,
    firstInvoke: plan.decision.firstInvoke,
    table: plan.decision.table,
    ops: plan.ops.length + plan.mangle.length,
  };
  if (plan.warnings.length > 0) fields["warnings"] = plan.warnings;
  // Each family's mangle rules run beside the netlink ops (see AddPlan.mangle); a failure of
  // the main plan is reported before theirs, as it comes first in upstream's order too.
  const results = await Promise.all([deps.host.apply(plan.ops), ...plan.mangle.map((op) => deps.host.apply([op]))]);
  const failure = results.find((f) => f !== undefined);
  if (failure !== undefined) {
    throw new CoordinatorApplyError(failure.message, {
      cause: { step: failure.index, op: failure.op.op, errno: failure.errno },
    });
  }
  // Announcing is best effort (§1.4 step 11): a failure is reported in the call's log line only.
  const announced = await Promise.all(plan.announcements.map((a) => deps.host.apply([a])));
  const unannounced = announced.flatMap((f) => (f === undefined ? [] : [f.message]));
  if (unannounced.length > 0) fields["announceFailures"] = unannounced;
  return { stdout, fields };
}

async function del(call: PluginCall, deps: CoordinatorDeps): Promise<Outcome> {
  const { config } = await loadConfig(call, deps);
  if (config.mode === "disable") return { stdout: "", fields: { mode: "disable" } };
  const fields = { mode: config.mode, hostRuleTable: config.hostRuleTable };
  // A runtime may call DEL again after the netns is gone (§1.11 step 2): nothing left to do.
  if (call.netns === "" || !(await checkNetns(deps.host, call.netns))) {
    return { stdout: "", fields: { ...fields, netns: "gone" } };
  }
  const hostState = await deps.host.observe(deps.hostNs);
  const podAddresses = await deps.host.observe({ kind: "path", path: call.netns }).then(
    (s) => {
      const link = s.links.find((l) => l.name === call.ifName);
      return s.addresses
        .filter((a) => a.linkIndex === link?.index && isRoutable(a.family, a.address))
        .map((a) => ({ family: a.family, address: a.address }));
    },
    () => [],
  );
  const ops = planDel({ config, containerID: call.containerID, host: deps.hostNs, hostState, podAddresses });
  const failure = await deps.host.apply(ops);
  if (failure !== undefined) throw new CoordinatorApplyError(failure.message);
  return { stdout: "", fields: { ...fields, ops: ops.length } };
}

/** The `coordinator` role: ADD and DEL as §1.4 and §1.11, CHECK (and STATUS, GC) a no-op. */
export function coordinatorRole(deps: CoordinatorDeps) {
  return async (call: PluginCall, log: Logger): Promise<PluginAnswer> => {
    const t0 = performance.now();
    const done = (outcome: "success" | "failure"): number => {
      const s = (performance.now() - t0) / 1000;
      deps.metrics?.observe("coordinator", call.command, outcome, s);
      return Math.round(s * 1e6) / 1e3;
    };
    if (call.command !== "ADD" && call.command !== "DEL") {
      done("success");
      return { exitCode: 0, stdout: "" };
    }
    try {
      const out = call.command === "ADD" ? await add(call, deps) : await del(call, deps);
      log.info({ ...out.fields, durationMs: done("success") }, `coordinator ${call.command}`);
      return { exitCode: 0, stdout: out.stdout };
    } catch (err) {
      const e: CniError = toCniError(err);
      log.warn(
        { err: e.message, code: (err as { code?: string }).code, durationMs: done("failure") },
        `coordinator ${call.command} failed`,
      );
      return { exitCode: 1, stdout: `${JSON.stringify(e.toJSON(versionOf(call.stdin)))}\n` };
    }
  };
}

/** The netconf's version for the error object, as far as it can be read. */
function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === "string" && v !== "" ? v : "1.0.0";
  } catch {
    return "1.0.0";
  }
}
