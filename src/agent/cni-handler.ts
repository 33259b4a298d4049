/**
 * The CNI side of the agent: one call forwarded by the shim (docs/shim-protocol.md) becomes
 * an allocation, a release or an answer, and every failure becomes a CNI error object with
 * the spec's code. This is the only place agent errors are mapped to CNI errors.
 */
import type { Logger } from "pino";
import { parseCniArgs } from "../cni/args.ts";
import { parseNetConf, type NetConf } from "../cni/config.ts";
import { validateCniEnv } from "../cni/env.ts";
import { CniCode, CniError } from "../cni/errors.ts";
import { addFailure, cniErrorOf } from "../cni/map-error.ts";
import { renderResult } from "../cni/result.ts";
import { IpamError } from "../ipam/errors.ts";
import type { IpamService } from "./ipam-service.ts";

export interface CniCall {
  role: string;
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  stdin: string;
  /** CNI_PATH as the shim forwarded it ("" when unset); undefined from callers that do not forward it. */
  path?: string;
}

export interface CniAnswer {
  exitCode: number;
  stdout: string;
}

export { ALLOCATION_ERROR_PREFIX } from "../cni/map-error.ts";

/** The netconf's cniVersion for an error object, whatever else is wrong with it. */
function cniVersionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === "string" && v !== "" ? v : "1.0.0";
  } catch {
    return "1.0.0";
  }
}

function fail(version: string, err: CniError): CniAnswer {
  return { exitCode: 1, stdout: `${JSON.stringify(err.toJSON(version))}\n` };
}

/**
 * A plugin role other than IPAM (the shim installed as `coordinator` or `ifacer`). It gets the
 * call as forwarded and answers it whole; a CniError it throws is mapped here like any other.
 */
export type RoleHandler = (call: CniCall, log: Logger) => Promise<CniAnswer>;

export interface CniHandlerDeps {
  service: IpamService;
  ready: () => boolean;
  log: Logger;
  /** Handlers for the roles other than `ipam`; a role without one is refused with code 999. */
  roles?: Partial<Record<"coordinator" | "ifacer", RoleHandler>>;
}

export async function handleCni(call: CniCall, deps: CniHandlerDeps): Promise<CniAnswer> {
  const { service, log: baseLog } = deps;
  const args = (() => {
    try {
      return parseCniArgs(call.args);
    } catch {
      return { ignoreUnknown: false } as ReturnType<typeof parseCniArgs>;
    }
  })();
  const log = baseLog.child({
    command: call.command,
    pod: `${args.podNamespace ?? ""}/${args.podName ?? ""}`,
    container: call.containerID,
    interface: call.ifName,
  });
  if (call.command === "VERSION") {
    return {
      exitCode: 0,
      stdout: `${JSON.stringify({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] })}\n`,
    };
  }
  // A role handler reads its own netconf (a coordinator's or an ifacer's has no `ipam` object).
  const roleHandler = call.role === "coordinator" || call.role === "ifacer" ? deps.roles?.[call.role] : undefined;
  if (roleHandler !== undefined) {
    try {
      return await roleHandler(call, log);
    } catch (err) {
      const e = cniErrorOf(err);
      log.warn({ err: e.message, cniCode: e.cniCode }, `${call.role} ${call.command} failed`);
      return fail(cniVersionOf(call.stdin), e);
    }
  }
  let conf: NetConf;
  try {
    conf = parseNetConf(call.stdin);
  } catch (err) {
    const e =
      err instanceof CniError
        ? err
        : new CniError(CniCode.DecodingFailure, "failed to decode the network configuration", String(err));
    log.warn({ err: e.message }, "refused the network configuration");
    return fail("1.0.0", e);
  }
  if (call.role !== "ipam") {
    return fail(
      conf.cniVersion,
      new CniError(CniCode.Internal, `the ${call.role} plugin is not available in this version of spiderpool-agent`),
    );
  }
  try {
    parseCniArgs(call.args);
    validateCniEnv(call);
  } catch (err) {
    const e = cniErrorOf(err);
    log.warn({ err: e.message, cniCode: e.cniCode }, "refused the CNI environment");
    return fail(conf.cniVersion, e);
  }
  switch (call.command) {
    case "ADD": {
      if (args.podName === undefined || args.podNamespace === undefined || call.ifName === "") {
        return fail(
          conf.cniVersion,
          new CniError(
            CniCode.InvalidEnvironment,
            "invalid CNI arguments",
            "K8S_POD_NAME, K8S_POD_NAMESPACE and CNI_IFNAME are required",
          ),
        );
      }
      try {
        const addReq = {
          containerID: call.containerID,
          ifName: call.ifName,
          netns: call.netns,
          podName: args.podName,
          podNamespace: args.podNamespace,
          podUid: args.podUid ?? "",
          defaultIPv4IPPool: conf.ipam.defaultIPv4IPPool,
          defaultIPv6IPPool: conf.ipam.defaultIPv6IPPool,
          cleanGateway: conf.ipam.cleanGateway,
        };
        const res = await service.allocate(addReq, log);
        const mine = res.ips.filter((i) => i.nic === call.ifName);
        if (mine.length === 0) {
          throw new IpamError("ERR_WRONG_INPUT", `no Interface ${call.ifName} IP allocation found`);
        }
        await service.detect(addReq, res, log);
        log.info({ ips: mine.map((i) => i.address) }, "allocated");
        return {
          exitCode: 0,
          stdout: `${JSON.stringify(renderResult(conf.cniVersion, call.ifName, res.ips, res.routes))}\n`,
        };
      } catch (err) {
        const e = addFailure(err);
        log.warn(
          { err: (err as Error).message, code: (err as { code?: string }).code, cniCode: e.cniCode },
          "allocation failed",
        );
        return fail(conf.cniVersion, e);
      }
    }
    case "DEL": {
      if (args.podName === undefined || args.podNamespace === undefined) {
        log.warn("DEL without K8S_POD_NAME/K8S_POD_NAMESPACE: nothing to release");
        return { exitCode: 0, stdout: "" };
      }
      try {
        const outcome = await service.release(
          {
            containerID: call.containerID,
            ifName: call.ifName,
            podName: args.podName,
            podNamespace: args.podNamespace,
            podUid: args.podUid ?? "",
          },
          log,
        );
        // Kept and nothing-to-do outcomes have logged their own reason.
        if (outcome === "released") log.info("released");
      } catch (err) {
        // As upstream: a failed release is logged and DEL succeeds; garbage collection finishes it.
        log.error({ err: (err as Error).message }, "release failed; left to garbage collection");
      }
      return { exitCode: 0, stdout: "" };
    }
    case "CHECK":
      return { exitCode: 0, stdout: "" };
    case "STATUS":
      return deps.ready()
        ? { exitCode: 0, stdout: "" }
        : fail(conf.cniVersion, new CniError(50, "The plugin is not available", "spiderpool-agent is not ready"));
    case "GC": {
      // Records belong to pods, not to attachments, so GC sweeps this node's endpoints with the
      // DEL rules: a live pod keeps its addresses whatever attachments the runtime lists.
      try {
        const n = await service.gcNode(log);
        log.info({ endpoints: n, valid: conf.validAttachments?.length ?? 0 }, "GC swept this node's endpoints");
        return { exitCode: 0, stdout: "" };
      } catch (err) {
        const e = cniErrorOf(err);
        log.warn({ err: e.message, cniCode: e.cniCode }, "GC failed");
        return fail(conf.cniVersion, e);
      }
    }
    default:
      return fail(
        conf.cniVersion,
        new CniError(CniCode.InvalidEnvironment, "invalid environment", `unknown CNI_COMMAND '${call.command}'`),
      );
  }
}
