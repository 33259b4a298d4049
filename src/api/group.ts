/** The API group, version and shared constants of Spiderpool v2beta1. */
export const GROUP = "spiderpool.spidernet.io";
export const VERSION = "v2beta1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The finalizer on pools, subnets, coordinators and endpoints (same string as the group). */
export const SPIDER_FINALIZER = "spiderpool.spidernet.io";

/** Every CRD of ours is in this category: `kubectl get spiderpool` lists them all. */
export const CATEGORY = "spiderpool";
