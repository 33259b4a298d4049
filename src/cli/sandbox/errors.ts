import { SpiderpoolError } from "../../errors/base.ts";

/** A pod names a network Multus cannot resolve: no such NetworkAttachmentDefinition, or one without a config. */
export class NetworkNotFoundError extends SpiderpoolError {
  readonly code = "ERR_SANDBOX_NETWORK_NOT_FOUND";
}

/** A CNI plugin of a chain failed (its exit status and the CNI error it printed), or is not installed. */
export class CniPluginError extends SpiderpoolError {
  readonly code = "ERR_SANDBOX_CNI_PLUGIN";
}

/** An `--apply` manifest that cannot be read or that the server refuses. */
export class ManifestError extends SpiderpoolError {
  readonly code = "ERR_SANDBOX_MANIFEST";
}
