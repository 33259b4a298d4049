/**
 * Why an IPAM ADD's detection (spec §1.12) failed. The first two release the allocation
 * before the ADD fails; the third leaves it with the pod, as any other failed ADD does.
 * Messages are upstream's, which users' alerts match.
 */
import { SpiderpoolError } from "../errors/base.ts";

/** Another host answers for the address just allocated. */
export class IpConflictError extends SpiderpoolError {
  readonly code = "ERR_IP_CONFLICT";
  readonly ip: string;
  readonly mac: string;
  constructor(ifName: string, ip: string, mac: string) {
    super(`ip conflict: pod's interface ${ifName} with an conflicting ip ${ip}, ${ip} is located at ${mac}`);
    this.ip = ip;
    this.mac = mac;
  }
}

/** The pool's gateway does not answer on the pod's interface. */
export class GatewayUnreachableError extends SpiderpoolError {
  readonly code = "ERR_GATEWAY_UNREACHABLE";
  readonly gateway: string;
  constructor(gateway: string) {
    super(`gateway ${gateway} is unreachable`);
    this.gateway = gateway;
  }
}

/** A probe could not be carried out (sends failed, a cap passed, IPv6 never ready, no host access). */
export class DetectionFailedError extends SpiderpoolError {
  readonly code = "ERR_DETECTION_FAILED";
}
