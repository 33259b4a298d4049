/**
 * The shim installed as `ifacer`: builds the node's VLAN sub-interfaces and bonds before the
 * main plugin runs (spec §4). The plan is src/ifacer's; this is where it meets the node (the
 * HostNetwork) and where ifacer's errors become CNI errors. DEL and CHECK do nothing, as
 * upstream: links ifacer made are shared by every pod on them and are never removed.
 */
import { CniCode, CniError } from "../cni/errors.ts";
import { SpiderpoolError } from "../errors/base.ts";
import type { NetnsRef } from "../host/model.ts";
import type { HostNetwork } from "../host/network.ts";
import { parseIfacerConf } from "../ifacer/config.ts";
import { IfacerApplyError } from "../ifacer/errors.ts";
import { planIfacerAdd } from "../ifacer/plan.ts";
import type { RoleHandler } from "./cni-handler.ts";

/** `node`: where the node's links live (the agent's own namespace; tests give a node namespace). */
export function ifacerRole(host: HostNetwork, node: NetnsRef = { kind: "host" }): RoleHandler {
  // Two pods on one NAD ADD at once: the second must see the first's bond, not race it.
  let last: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = last.then(fn, fn);
    last = next.catch(() => undefined);
    return next;
  };

  return async (call, log) => {
    if (call.command !== "ADD") return { exitCode: 0, stdout: "" };
    try {
      const conf = parseIfacerConf(call.stdin);
      const plan = await serial(async () => {
        const p = planIfacerAdd(conf, await host.observe(node), node);
        const failure = await host.apply(p.ops);
        if (failure !== undefined) throw new IfacerApplyError(failure.message);
        return p;
      });
      if (plan.ops.length > 0) log.info({ master: plan.master, ops: plan.ops.length }, "ifacer built the master");
      // An empty result: ifacer makes nothing in the pod, and the next plugin's master is in its own netconf.
      return { exitCode: 0, stdout: `${JSON.stringify({ cniVersion: conf.cniVersion, dns: {} })}\n` };
    } catch (err) {
      // As upstream's plugin: every ifacer failure is libcni's internal error with its text.
      if (err instanceof SpiderpoolError && !(err instanceof CniError)) {
        throw new CniError(CniCode.Internal, err.message, "", { cause: err });
      }
      throw err;
    }
  };
}
