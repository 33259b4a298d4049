/**
 * Every failure the project raises is one of these: a class per kind of failure with a
 * stable `code` (the undici convention). Callers branch on the class or the code, never
 * on message text; boundaries (CNI, HTTP, admission) map codes once.
 */
export abstract class SpiderpoolError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True when `err` is one of ours carrying `code`. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof SpiderpoolError && err.code === code;
}
