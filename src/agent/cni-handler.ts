/**
 * The CNI side of the agent: one call forwarded by the shim (docs/shim-protocol.md) becomes
 * an allocation, a release or an answer, and every failure becomes a CNI error object with
 * the spec's code. This is the only place agent errors are mapped to CNI errors.
 */
import type { Logger } from "pino";
import { parseCniArgs } from "../cni/args.ts";
import { parseNetConf, type NetConf } from "../cni/config.ts";
import { CniCode, CniError } from "../cni/errors.ts";
import { renderResult } from "../cni/result.ts";
import type { IpamService } from "./ipam-service.ts";

export interface CniCall {
  role: string;
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  stdin: string;
}

export interface CniAnswer {
  exitCode: number;
  stdout: string;
}

/** Upstream's plugin wraps agent failures this way; users' alerts and e2e suites match it. */
export const ALLOCATION_ERROR_PREFIX = "spiderpool IP allocation error: [POST /ipam/ip][500] postIpamIpFailure  ";

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
      const e =
        err instanceof CniError
          ? err
          : new CniError(CniCode.Internal, err instanceof Error ? err.message : String(err));
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
  } catch (err) {
    return fail(conf.cniVersion, err as CniError);
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
        const res = await service.allocate(
          {
            containerID: call.containerID,
            ifName: call.ifName,
            netns: call.netns,
            podName: args.podName,
            podNamespace: args.podNamespace,
            podUid: args.podUid ?? "",
            defaultIPv4IPPool: conf.ipam.defaultIPv4IPPool,
            defaultIPv6IPPool: conf.ipam.defaultIPv6IPPool,
            cleanGateway: conf.ipam.cleanGateway,
          },
          log,
        );
        const mine = res.ips.filter((i) => i.nic === call.ifName);
        if (mine.length === 0) {
          throw new Error(`no Interface ${call.ifName} IP allocation found`);
        }
        log.info({ ips: mine.map((i) => i.address) }, "allocated");
        return {
          exitCode: 0,
          stdout: `${JSON.stringify(renderResult(conf.cniVersion, call.ifName, res.ips, res.routes))}\n`,
        };
      } catch (err) {
        const msg = (err as Error).message;
        log.warn({ err: msg, code: (err as { code?: string }).code }, "allocation failed");
        return fail(conf.cniVersion, new CniError(CniCode.Internal, `${ALLOCATION_ERROR_PREFIX}${msg}`));
      }
    }
    case "DEL": {
      if (args.podName === undefined || args.podNamespace === undefined) {
        log.warn("DEL without K8S_POD_NAME/K8S_POD_NAMESPACE: nothing to release");
        return { exitCode: 0, stdout: "" };
      }
      try {
        await service.release(
          {
            containerID: call.containerID,
            ifName: call.ifName,
            podName: args.podName,
            podNamespace: args.podNamespace,
            podUid: args.podUid ?? "",
          },
          log,
        );
        log.info("released");
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
      const n = await service.gcNode(log);
      log.info({ endpoints: n, valid: conf.validAttachments?.length ?? 0 }, "GC swept this node's endpoints");
      return { exitCode: 0, stdout: "" };
    }
    default:
      return fail(
        conf.cniVersion,
        new CniError(CniCode.InvalidEnvironment, "invalid environment", `unknown CNI_COMMAND '${call.command}'`),
      );
  }
}
