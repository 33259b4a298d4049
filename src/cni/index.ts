export * from "./args.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./result.ts";
export * from "./version.ts";
export * from "./prev-result.ts";
