/**
 * Reading a daemon's environment the way upstream's charts set it: booleans as Go's
 * strconv.ParseBool accepts them, integers with a lower bound, required strings. A bad
 * value is refused at start with the variable's name, through the daemon's own error class.
 */
export type ConfigErrorFactory = (message: string) => Error;

export class EnvReader {
  readonly #env: NodeJS.ProcessEnv;
  readonly #fail: ConfigErrorFactory;

  constructor(env: NodeJS.ProcessEnv, fail: ConfigErrorFactory) {
    this.#env = env;
    this.#fail = fail;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.#env[key];
    if (v === undefined || v === "") return dflt;
    if (/^(1|t|true)$/i.test(v)) return true;
    if (/^(0|f|false)$/i.test(v)) return false;
    throw this.#fail(`${key}='${v}' is not a boolean`);
  }

  int(key: string, dflt: number, min = 0): number {
    const v = this.#env[key];
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw this.#fail(`${key}='${v}' must be an integer >= ${min}`);
    return n;
  }

  str(key: string, dflt?: string): string {
    const v = this.#env[key];
    if (v !== undefined && v !== "") return v;
    if (dflt !== undefined) return dflt;
    throw this.#fail(`${key} is required`);
  }
}
