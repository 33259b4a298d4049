import { SpiderpoolError } from "../../errors/base.ts";

export type AnnotationOwner = "Pod" | "Namespace" | "SpiderMultusConfig";

export interface InvalidAnnotationInit {
  readonly owner: AnnotationOwner;
  readonly annotation: string;
  /** The offending part: the whole value, an item (`[1]`), a field (`[0].ipv4`), a name. */
  readonly part: string;
  /** What was wrong and what was expected. */
  readonly detail: string;
  /** Upstream's exact text, where the spec gives one that has no common prefix. */
  readonly message?: string;
}

/**
 * A malformed annotation value. By default the message keeps upstream's prefix
 * (`wrong input, invalid format of Pod annotation '<key>': `) so log searches and
 * dashboards written for Spiderpool still match; the fields say which part was wrong and
 * what was expected, for callers that render their own message.
 */
export class InvalidAnnotationError extends SpiderpoolError {
  readonly code = "ERR_INVALID_ANNOTATION";
  readonly annotation: string;
  readonly owner: AnnotationOwner;
  readonly part: string;
  readonly detail: string;
  constructor(init: InvalidAnnotationInit) {
    super(
      init.message ?? `wrong input, invalid format of ${init.owner} annotation '${init.annotation}': ${init.detail}`,
    );
    this.owner = init.owner;
    this.annotation = init.annotation;
    this.part = init.part;
    this.detail = init.detail;
  }
}
