export * from "./backoff.ts";
export * from "./client.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./informer.ts";
export * from "./optimistic.ts";
export * from "./resources.ts";
export * from "./status.ts";
