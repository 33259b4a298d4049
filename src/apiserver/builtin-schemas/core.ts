/** Schemas of core/v1 kinds a chart writes (ConfigMap, Secret, ServiceAccount, Service, Endpoints, Namespace). */
import type { Schema } from "../schema.ts";
import { arr, bool, int32, intOrString, kind, obj, objectReference, open, str, strings, strMap } from "./shapes.ts";

export const configMap: Schema = kind({ data: strMap, binaryData: strMap, immutable: bool });

export const secret: Schema = kind({ data: strMap, stringData: strMap, type: str, immutable: bool });

export const serviceAccount: Schema = kind({
  secrets: arr(objectReference),
  imagePullSecrets: arr(obj({ name: str })),
  automountServiceAccountToken: bool,
});

export const namespace: Schema = kind({
  spec: obj({ finalizers: strings }),
  status: obj({ phase: str, conditions: arr(open()) }),
});

const servicePort = obj(
  { name: str, protocol: str, appProtocol: str, port: int32, targetPort: intOrString, nodePort: int32 },
  ["port"],
);

export const service: Schema = kind({
  spec: obj({
    type: str,
    selector: strMap,
    ports: arr(servicePort),
    clusterIP: str,
    clusterIPs: strings,
    externalIPs: strings,
    externalName: str,
    externalTrafficPolicy: str,
    internalTrafficPolicy: str,
    healthCheckNodePort: int32,
    sessionAffinity: str,
    sessionAffinityConfig: open(),
    loadBalancerIP: str,
    loadBalancerSourceRanges: strings,
    loadBalancerClass: str,
    allocateLoadBalancerNodePorts: bool,
    publishNotReadyAddresses: bool,
    ipFamilies: strings,
    ipFamilyPolicy: str,
    trafficDistribution: str,
  }),
  status: open(),
});

const endpointAddress = obj({ ip: str, hostname: str, nodeName: str, targetRef: objectReference }, ["ip"]);

export const endpoints: Schema = kind({
  subsets: arr(
    obj({
      addresses: arr(endpointAddress),
      notReadyAddresses: arr(endpointAddress),
      ports: arr(obj({ name: str, port: int32, protocol: str, appProtocol: str }, ["port"])),
    }),
  ),
});
