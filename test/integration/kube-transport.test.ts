// The API client's HTTP/1.1 transport against loopback servers that behave as API servers
// do, and as they misbehave: keep-alive reuse, the connection bound, chunked answers,
// connections the server drops, silence, aborts, and watch streams.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { joined, Transport } from "../../src/kube/transport.ts";
import { generateCA, issueServingCert } from "../../src/pki/certs.ts";

const closers: Array<() => void> = [];
after(() => {
  for (const c of closers) c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(() => {
    (server as http.Server).closeAllConnections?.();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

/** A node:http server that counts the connections it accepted. */
async function httpServer(handler: http.RequestListener): Promise<{ port: number; connections: () => number }> {
  const server = http.createServer(handler);
  let n = 0;
  server.on("connection", () => n++);
  return { port: await listen(server), connections: () => n };
}

const get = (t: Transport, path = "/x", extra: Partial<Parameters<Transport["send"]>[0]> = {}) =>
  t.send({ method: "GET", path, headers: { accept: "application/json" }, timeoutMs: 5_000, ...extra });

describe("kube transport", () => {
  it("reuses one keep-alive connection for requests made one after another", async () => {
    const s = await httpServer((req, res) => res.end(JSON.stringify({ path: req.url, host: req.headers.host })));
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 4, {});
    try {
      for (let i = 0; i < 5; i++) {
        const a = await get(t, `/p/${i}`);
        assert.equal(a.status, 200);
        assert.deepEqual(JSON.parse(joined(a.chunks).toString()), { path: `/p/${i}`, host: `127.0.0.1:${s.port}` });
      }
      assert.equal(s.connections(), 1);
    } finally {
      t.close();
    }
  });

  it("never opens more connections than its bound; the requests beyond it wait their turn", async () => {
    let inFlight = 0;
    let most = 0;
    const s = await httpServer((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end("ok");
      }, 20);
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 2, {});
    try {
      const answers = await Promise.all(Array.from({ length: 7 }, () => get(t)));
      assert.deepEqual(
        answers.map((a) => joined(a.chunks).toString()),
        Array(7).fill("ok"),
      );
      assert.equal(s.connections(), 2);
      assert.equal(most, 2);
    } finally {
      t.close();
    }
  });

  it("sends a body in pieces with its length, and reads a chunked answer whole", async () => {
    const s = await httpServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        const got = Buffer.concat(parts).toString();
        res.setHeader("warning", ['299 - "first, with a comma"', '299 - "second"']);
        // No Content-Length: node:http frames the answer in chunks, as an API server does for large ones.
        res.write(`{"length":${req.headers["content-length"]},`);
        setTimeout(() => res.end(`"body":${JSON.stringify(got)}}`), 5);
      });
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    try {
      const a = await t.send({
        method: "PUT",
        path: "/y",
        headers: { "content-type": "application/json" },
        body: [Buffer.from('{"a":'), Buffer.from("1}")],
        timeoutMs: 5_000,
      });
      assert.deepEqual(JSON.parse(joined(a.chunks).toString()), { length: 7, body: '{"a":1}' });
      assert.deepEqual(a.values("warning"), ['299 - "first, with a comma"', '299 - "second"']);
      // A POST without a body still says its length, so the server does not wait for one.
      const b = await t.send({ method: "POST", path: "/z", headers: {}, timeoutMs: 5_000 });
      assert.deepEqual(JSON.parse(joined(b.chunks).toString()), { length: 0, body: "" });
      assert.equal(s.connections(), 1);
    } finally {
      t.close();
    }
  });

  it("repeats a GET the server dropped on a reused idle connection, but never a POST", async () => {
    // Answers the first request of each connection and closes the connection on the second
    // without a byte, as a server does that timed out an idle keep-alive connection just as
    // the request arrived.
    let connections = 0;
    const server = net.createServer((sock) => {
      connections++;
      let requests = 0;
      let buf = "";
      sock.on("data", (d) => {
        buf += d.toString("latin1");
        while (buf.includes("\r\n\r\n")) {
          const end = buf.indexOf("\r\n\r\n") + 4;
          const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          buf = buf.slice(end + len);
          if (++requests === 1) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          else sock.destroy();
        }
      });
    });
    const port = await listen(server);
    const t = new Transport(new URL(`http://127.0.0.1:${port}`), 1, {});
    try {
      await get(t);
      const again = await get(t);
      assert.equal(joined(again.chunks).toString(), "ok");
      assert.equal(connections, 2);
      await assert.rejects(
        t.send({ method: "POST", path: "/x", headers: {}, body: Buffer.from("{}"), timeoutMs: 5_000 }),
        /connection closed before any answer/,
      );
      assert.equal(connections, 2);
    } finally {
      t.close();
    }
  });

  it("fails a request that gets no byte within its time, and one cut short", async () => {
    const server = net.createServer((sock) => {
      sock.once("data", (d) => {
        if (d.toString().startsWith("GET /silent")) return;
        sock.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
      });
    });
    const port = await listen(server);
    const t = new Transport(new URL(`http://127.0.0.1:${port}`), 2, {});
    try {
      await assert.rejects(get(t, "/silent", { timeoutMs: 100 }), /no answer within 100 ms/);
      await assert.rejects(get(t, "/short"), /before the answer was complete/);
    } finally {
      t.close();
    }
  });

  it("an aborted request fails at once and its connection is not used again", async () => {
    const s = await httpServer((req, res) => {
      if (req.url === "/slow") setTimeout(() => res.end("late"), 300);
      else res.end("ok");
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    try {
      const ac = new AbortController();
      const p = get(t, "/slow", { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await assert.rejects(p, { name: "AbortError" });
      const a = await get(t, "/fast");
      assert.equal(joined(a.chunks).toString(), "ok");
      assert.equal(s.connections(), 2);
      // Refused before it is sent when the signal has already fired.
      await assert.rejects(get(t, "/fast", { signal: AbortSignal.abort() }), { name: "AbortError" });
    } finally {
      t.close();
    }
  });

  it("streams a watch as it arrives, on a connection of its own, until the server ends it", async () => {
    const s = await httpServer((req, res) => {
      if (req.url?.startsWith("/watch") !== true) return void res.end("ok");
      res.writeHead(200, { "content-type": "application/json" });
      let n = 0;
      const tick = setInterval(() => {
        res.write(`{"type":"ADDED","n":${n}}\n`);
        if (++n === 3) {
          clearInterval(tick);
          res.end();
        }
      }, 10);
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    try {
      const w = await t.stream({ path: "/watch", headers: {}, headersTimeoutMs: 5_000, idleMs: 5_000 });
      // The request pool stays free while the watch holds its connection.
      assert.equal(joined((await get(t)).chunks).toString(), "ok");
      const got: string[] = [];
      for await (const c of w.body) got.push(c.toString());
      assert.equal(got.join(""), '{"type":"ADDED","n":0}\n{"type":"ADDED","n":1}\n{"type":"ADDED","n":2}\n');
      assert.equal(w.status, 200);
      assert.equal(s.connections(), 2);
    } finally {
      t.close();
    }
  });

  it("a watch that falls silent past its idle limit fails; a destroyed one ends", async () => {
    const s = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write("{}\n");
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    try {
      const w = await t.stream({ path: "/watch", headers: {}, headersTimeoutMs: 5_000, idleMs: 100 });
      const got: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const c of w.body) got.push(c.toString());
        })(),
        /watch silent for 100 ms/,
      );
      assert.deepEqual(got, ["{}\n"]);
      const w2 = await t.stream({ path: "/watch", headers: {}, headersTimeoutMs: 5_000, idleMs: 0 });
      const reading = (async () => {
        for await (const _ of w2.body);
      })();
      setTimeout(() => w2.destroy(), 20);
      await assert.rejects(reading, /closed before the answer was complete/);
    } finally {
      t.close();
    }
  });

  it("a watch held back for a slow reader is not taken for a silent one", async () => {
    // 12 MB in 64 KB pieces, as fast as the socket takes them; the reader starts late.
    const piece = `${"x".repeat(64 * 1024 - 1)}\n`;
    const s = await httpServer((_req, res) => {
      res.writeHead(200);
      let n = 0;
      const more = (): void => {
        while (n < 192) {
          n++;
          if (!res.write(piece)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    try {
      const w = await t.stream({ path: "/watch", headers: {}, headersTimeoutMs: 5_000, idleMs: 200 });
      await new Promise((r) => setTimeout(r, 600));
      let bytes = 0;
      for await (const c of w.body) {
        bytes += c.length;
        // A slow reader: the queue fills past its high-water mark and the socket pauses.
        if (bytes % (1024 * 1024) < c.length) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(bytes, 192 * 64 * 1024);
    } finally {
      t.close();
    }
  });

  it("close fails what is in flight and what waits, and refuses what comes after", async () => {
    const s = await httpServer(() => {
      /* never answers */
    });
    const t = new Transport(new URL(`http://127.0.0.1:${s.port}`), 1, {});
    const inFlight = get(t);
    const waiting = get(t);
    await new Promise((r) => setTimeout(r, 20));
    const failed = [assert.rejects(inFlight, /connection closed/), assert.rejects(waiting, /transport closed/)];
    t.close();
    await Promise.all(failed);
    await assert.rejects(get(t), /transport closed/);
  });

  it("over TLS: trusts only the given CA, checks the server's name, presents a client certificate", async () => {
    const ca = generateCA("transport-test-ca");
    const serving = issueServingCert(ca, { dnsNames: ["apiserver.test"], ipAddresses: ["127.0.0.1"] });
    const client = issueServingCert(ca, { dnsNames: ["agent.test"] });
    const server = https.createServer(
      { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as import("node:tls").TLSSocket).getPeerCertificate();
        res.end(JSON.stringify({ client: peer?.subjectaltname ?? "none" }));
      },
    );
    let connections = 0;
    server.on("secureConnection", () => connections++);
    const port = await listen(server);
    const origin = new URL(`https://127.0.0.1:${port}`);

    const ok = new Transport(origin, 1, { ca: ca.certPem, cert: client.certPem, key: client.keyPem });
    try {
      for (let i = 0; i < 3; i++) {
        const a = await get(ok);
        assert.deepEqual(JSON.parse(joined(a.chunks).toString()), { client: "DNS:agent.test" });
      }
      assert.equal(connections, 1, "one TLS connection kept alive");
    } finally {
      ok.close();
    }
    const byName = new Transport(origin, 1, { ca: ca.certPem, servername: "apiserver.test" });
    try {
      assert.equal((await get(byName)).status, 200);
    } finally {
      byName.close();
    }
    const wrongName = new Transport(origin, 1, { ca: ca.certPem, servername: "other.test" });
    const untrusted = new Transport(origin, 1, {});
    const skipping = new Transport(origin, 1, { rejectUnauthorized: false });
    try {
      await assert.rejects(get(wrongName), /altnames|does not match/i);
      await assert.rejects(get(untrusted), /self.signed|unable to (get|verify)|certificate/i);
      assert.equal((await get(skipping)).status, 200);
    } finally {
      wrongName.close();
      untrusted.close();
      skipping.close();
    }
  });

  it("an idle connection does not keep a process that is done from exiting", async () => {
    const s = await httpServer((_req, res) => res.end("ok"));
    const transport = fileURLToPath(new URL("../../src/kube/transport.ts", import.meta.url));
    const script = `
      const { Transport } = await import(${JSON.stringify(transport)});
      const t = new Transport(new URL("http://127.0.0.1:${s.port}"), 1, {});
      const a = await t.send({ method: "GET", path: "/", headers: {}, timeoutMs: 5000 });
      process.stdout.write(String(a.status));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill(), 10_000);
      child.on("exit", (c) => {
        clearTimeout(kill);
        resolve(c);
      });
    });
    assert.equal(code, 0, "the child was killed: an idle connection held it");
    assert.equal(out, "200");
  });
});
