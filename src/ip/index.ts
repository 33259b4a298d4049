export * from "./address.ts";
export * from "./cidr.ts";
export * from "./errors.ts";
export * from "./range.ts";
export * from "./range-set.ts";
