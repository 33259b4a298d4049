export * from "./candidates.ts";
export * from "./errors.ts";
export * from "./filter.ts";
export * from "./pod.ts";
export * from "./pool-state.ts";
export * from "./result.ts";
export * from "./consistency.ts";
export * from "./auto-pool.ts";
