export * from "./registry.ts";
export * from "./resources.ts";
export * from "./server.ts";
export * from "./local-cluster.ts";
