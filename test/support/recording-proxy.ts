// An HTTP proxy in front of the embedded API server that records every request one client
// makes, as the RBAC attributes kube-apiserver would authorize it by (verb, group,
// resource, subresource, namespace, name). Each daemon gets its own proxy, so what it asks
// for is told apart from what the test does.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Set for /version, /api, /apis… (nonResourceURLs, open to every authenticated user). */
  nonResource?: string;
}

/** kube-apiserver's request-info rules, for the paths our client uses. */
export function requestAttributes(method: string, url: URL): RequestAttributes {
  const parts = url.pathname.split("/").filter((p) => p !== "");
  const base = { verb: "", group: "", resource: "", subresource: "", namespace: "", name: "" };
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === "apis" && parts.length >= 3) {
    base.group = parts[1]!;
    rest = parts.slice(3);
  } else return { ...base, nonResource: url.pathname };
  if (rest.length === 0) return { ...base, nonResource: url.pathname };
  if (rest[0] === "namespaces" && rest.length >= 3) {
    base.namespace = rest[1]!;
    rest = rest.slice(2);
  }
  base.resource = rest[0]!;
  base.name = rest[1] ?? "";
  base.subresource = rest[2] ?? "";
  const collection = base.name === "";
  const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
  const verbs: Record<string, string> = {
    GET: collection ? (watch ? "watch" : "list") : "get",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: collection ? "deletecollection" : "delete",
  };
  return { ...base, verb: verbs[method] ?? method.toLowerCase() };
}

export interface RecordingProxy {
  url: string;
  requests: RequestAttributes[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const t = new URL(target);
  const requests: RequestAttributes[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(requestAttributes(req.method ?? "GET", new URL(req.url ?? "/", "http://proxy")));
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
