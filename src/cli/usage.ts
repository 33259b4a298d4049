import { SpiderpoolError } from "../errors/base.ts";

/** Bad command-line input: printed with the usage, exit code 2. */
export class UsageError extends SpiderpoolError {
  readonly code = "ERR_USAGE";
}
