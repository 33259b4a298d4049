// A stand-in API server for bench/watch-events.ts: it lists one SpiderIPPool and streams
// MODIFIED events of it, each version with `step` more records, one every `pace` ms, until
// it holds `records`; then it ends the watch. The events are the bytes the embedded API
// server would send (one JSON line per event, the records as one JSON string), built by
// appending to the previous version's text, so the server's own cost stays small and
// steady while the client's is measured. It binds to loopback and exits with its watch.
// Run as: node bench/lib/pool-watch-server.ts RECORDS STEP PACE_MS (prints its port).
import http from "node:http";

const [records = 10_000, step = 8, paceMs = 2] = process.argv.slice(2).map(Number);

/** The records' text inside the status string, escaped as it is there, without the braces. */
let inner = "";
let count = 0;
let rv = 1000;

function addRecord(): void {
  count++;
  const ip = `10.${(count >> 16) & 255}.${(count >> 8) & 255}.${count & 255}`;
  const uid = `${(0x10000000 + count).toString(16)}-aaaa-4bbb-8ccc-${(0x100000000000 + count).toString(16)}`;
  const rec = `"${ip}":{"interface":"eth0","pod":"storm/storm-${count}","podUid":"${uid}","nodeName":"node${count % 100}"}`;
  // As JSON.stringify escapes it inside the status string: quotes only, in these records.
  inner += (count > 1 ? "," : "") + rec.replaceAll('"', '\\"');
}

function pool(): string {
  return (
    `{"apiVersion":"spiderpool.spidernet.io/v2beta1","kind":"SpiderIPPool",` +
    `"metadata":{"name":"storm-v4","uid":"7c0e1b2a-0000-4000-8000-000000000001","resourceVersion":"${rv}",` +
    `"generation":1,"creationTimestamp":"2026-12-07T00:00:00Z"},` +
    `"spec":{"subnet":"10.0.0.0/8","ips":["10.0.0.1-10.255.255.254"]},` +
    `"status":{"allocatedIPs":"{${inner}}","allocatedIPCount":${count},"totalIPCount":16777214}}`
  );
}

const server = http.createServer((req, res) => {
  if (!(req.url ?? "").includes("watch=true")) {
    res.setHeader("content-type", "application/json");
    res.end(
      `{"kind":"SpiderIPPoolList","apiVersion":"spiderpool.spidernet.io/v2beta1","metadata":{"resourceVersion":"${rv}"},"items":[${pool()}]}`,
    );
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  const timer = setInterval(() => {
    if (count >= records) {
      clearInterval(timer);
      res.end();
      server.close();
      return;
    }
    for (let i = 0; i < step; i++) addRecord();
    rv++;
    res.write(Buffer.from(`{"type":"MODIFIED","object":${pool()}}\n`));
  }, paceMs);
});
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`${typeof a === "object" && a !== null ? a.port : 0}\n`);
});
