export * from "./errors.ts";
export * from "./keys.ts";
export * from "./multus.ts";
export * from "./pod.ts";
