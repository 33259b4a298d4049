/**
 * CNI_ARGS: `K1=V1;K2=V2`. The Kubernetes keys the runtime passes are read; unknown keys
 * are ignored (every runtime sets IgnoreUnknown, and rejecting them helps nobody), a pair
 * without '=' is an error as in libcni.
 */
import { CniCode, CniError } from "./errors.ts";

export interface K8sArgs {
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  infraContainerId?: string;
  ip?: string;
  ignoreUnknown: boolean;
}

export function parseCniArgs(raw: string | undefined): K8sArgs {
  const out: K8sArgs = { ignoreUnknown: false };
  if (raw === undefined || raw === "") return out;
  for (const pair of raw.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, "invalid CNI_ARGS", `ARGS: invalid pair "${pair}"`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    switch (key) {
      case "K8S_POD_NAME":
        out.podName = value;
        break;
      case "K8S_POD_NAMESPACE":
        out.podNamespace = value;
        break;
      case "K8S_POD_UID":
        out.podUid = value;
        break;
      case "K8S_POD_INFRA_CONTAINER_ID":
        out.infraContainerId = value;
        break;
      case "IP":
        out.ip = value;
        break;
      case "IgnoreUnknown":
        out.ignoreUnknown = value === "1" || value.toLowerCase() === "true";
        break;
      default:
        break;
    }
  }
  return out;
}
