/**
 * Request counts of the embedded API server in Prometheus text format, under the name and
 * labels kube-apiserver uses (`apiserver_request_total{verb,resource,subresource,code}`),
 * so a benchmark can count API writes and conflicts the way it would on a real cluster.
 * Counted by hand: the server has no other use for a metrics library.
 */

export interface RequestLabels {
  verb: string;
  resource: string;
  subresource: string;
  code: number;
}

/** The kube verb and resource of a request path; `undefined` for non-resource paths. */
export function requestLabels(
  method: string,
  path: string,
  query: URLSearchParams,
  code: number,
): RequestLabels | undefined {
  const segs = path.split("/").filter((s) => s !== "");
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 3) rest = segs.slice(2);
  else if (segs[0] === "apis" && segs.length >= 4) rest = segs.slice(3);
  else return undefined;
  let watch = query.get("watch") === "true" || query.get("watch") === "1";
  if (rest[0] === "watch") {
    watch = true;
    rest = rest.slice(1);
  }
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [resource = "", name, subresource = ""] = rest;
  let verb: string;
  switch (method) {
    case "GET":
      verb = watch ? "WATCH" : name === undefined ? "LIST" : "GET";
      break;
    case "POST":
      verb = "POST";
      break;
    case "PUT":
      verb = "PUT";
      break;
    case "PATCH":
      verb = "PATCH";
      break;
    case "DELETE":
      verb = name === undefined ? "DELETECOLLECTION" : "DELETE";
      break;
    default:
      verb = method;
  }
  return { verb, resource, subresource, code };
}

export class RequestMetrics {
  readonly #counts = new Map<string, { labels: RequestLabels; n: number }>();

  observe(labels: RequestLabels): void {
    const key = `${labels.verb}\u0000${labels.resource}\u0000${labels.subresource}\u0000${labels.code}`;
    const c = this.#counts.get(key);
    if (c !== undefined) c.n++;
    else this.#counts.set(key, { labels, n: 1 });
  }

  render(): string {
    const lines = [
      "# HELP apiserver_request_total Counter of apiserver requests broken out by verb, resource, subresource and HTTP response code.",
      "# TYPE apiserver_request_total counter",
    ];
    for (const { labels: l, n } of this.#counts.values()) {
      lines.push(
        `apiserver_request_total{code="${l.code}",resource="${l.resource}",subresource="${l.subresource}",verb="${l.verb}"} ${n}`,
      );
    }
    return `${lines.join("\n")}\n`;
  }
}
