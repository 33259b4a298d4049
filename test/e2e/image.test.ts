// The container image (issue 21): scripts/build-image.sh builds it with buildah from an
// mmdebstrap rootfs, then `podman run` of it installs the shim into a temporary directory
// standing in for the host's /opt/cni/bin, the installed shim answers VERSION, and Node,
// both daemons, iproute2 and iptables run inside it. Building takes two to three minutes,
// so it runs when CI=true (as CI services set it) or SPIDERPOOL_IMAGE_TEST=1; otherwise it reports
// itself as skipped with that reason. In CI a missing tool fails it.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../support/chart.ts";

const run = promisify(execFile);
const wanted = process.env["CI"] === "true" || process.env["SPIDERPOOL_IMAGE_TEST"] === "1";
const skip = wanted ? false : "builds an image (2-3 min): runs when CI=true or SPIDERPOOL_IMAGE_TEST=1";
if (skip !== false) process.stdout.write(`# image test not run: ${skip}\n`);

// This machine's podman quirks (see the README): runc, cgroupfs, file events, no network,
// and limits the sandbox lets a container set.
const PODMAN = ["--runtime", "/usr/sbin/runc", "--cgroup-manager=cgroupfs", "--events-backend=file"];
const RUN = ["run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];

describe("container image (issue 21)", { skip, timeout: 900_000 }, () => {
  const tag = `localhost/spiderpool-ts/spiderpool:test-${process.pid}`;
  let host: string;
  let built = false;

  before(async () => {
    for (const tool of ["/usr/bin/mmdebstrap", "/usr/bin/buildah", "/usr/bin/podman", "/usr/sbin/runc"]) {
      assert.ok(existsSync(tool), `${tool} is missing: scripts/ensure-debs.sh installs it as root when CI=true`);
    }
    host = mkdtempSync(join(tmpdir(), "image-host-cni-"));
    const { stdout } = await run("bash", [join(ROOT, "scripts", "build-image.sh"), "--tag", tag], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    built = true;
    process.stdout.write(`# ${stdout.trim()}\n`);
  });

  after(async () => {
    if (built) await run("buildah", ["rmi", "-f", tag]).catch(() => undefined);
    if (host !== undefined) rmSync(host, { recursive: true, force: true });
  });

  it("issue 21: podman run installs the shim into the host directory, and the installed shim answers VERSION", async () => {
    const { stdout } = await run("podman", [
      ...PODMAN,
      ...RUN,
      "-v",
      `${host}:/host/opt/cni/bin`,
      tag,
      "/usr/bin/spiderpool-agent",
      "install-cni",
    ]);
    assert.equal(stdout, "spiderpool: installed\ncoordinator: installed\nifacer: installed\n");
    for (const n of ["spiderpool", "coordinator", "ifacer"]) {
      assert.equal(statSync(join(host, n)).mode & 0o777, 0o755);
      assert.ok(readFileSync(join(host, n)).equals(readFileSync(join(ROOT, "native", "shim", "build", "spiderpool"))));
    }
    const version = execFileSync(join(host, "spiderpool"), [], { env: { CNI_COMMAND: "VERSION" }, encoding: "utf8" });
    assert.ok((JSON.parse(version) as { supportedVersions: string[] }).supportedVersions.includes("1.0.0"));
    // Run again, as an agent restart does: nothing is rewritten.
    const again = await run("podman", [
      ...PODMAN,
      ...RUN,
      "-v",
      `${host}:/host/opt/cni/bin`,
      tag,
      "/usr/bin/spiderpool-agent",
      "install-cni",
    ]);
    assert.equal(again.stdout, "spiderpool: unchanged\ncoordinator: unchanged\nifacer: unchanged\n");
  });

  it("issue 21: podman run of the multus-config sidecar writes Multus's files into the host directory; multus-uninstall removes them", async () => {
    const netd = join(host, "net.d");
    const sa = join(host, "sa");
    mkdirSync(netd);
    mkdirSync(sa);
    writeFileSync(join(netd, "10-calico.conflist"), '{"name":"k8s-pod-network","plugins":[]}');
    writeFileSync(join(sa, "token"), "token-1");
    writeFileSync(join(sa, "ca.crt"), "CA");
    const mounts = ["-v", `${netd}:/host/etc/cni/net.d`, "-v", `${sa}:/sa:ro`, "-v", `${host}:/host/opt/cni/bin`];
    const env = ["-e", "KUBERNETES_SERVICE_HOST=192.0.2.1", "-e", "KUBERNETES_SERVICE_PORT=443"];
    const sidecar = ["/usr/bin/spiderpool-agent", "multus-config", "--service-account-dir=/sa", "--once"];
    const { stdout } = await run("podman", [...PODMAN, ...RUN, ...mounts, ...env, tag, ...sidecar]);
    assert.equal(stdout, "wrote multus.d/multus.kubeconfig\nwrote 00-multus.conf\n");
    const conf = JSON.parse(readFileSync(join(netd, "00-multus.conf"), "utf8")) as {
      clusterNetwork: string;
      kubeconfig: string;
    };
    assert.equal(conf.clusterNetwork, "k8s-pod-network");
    assert.equal(conf.kubeconfig, "/etc/cni/net.d/multus.d/multus.kubeconfig");
    assert.match(readFileSync(join(netd, "multus.d", "multus.kubeconfig"), "utf8"), /token-1/);
    writeFileSync(join(host, "multus"), "bin");
    const un = await run("podman", [
      ...PODMAN,
      ...RUN,
      ...mounts,
      tag,
      "/usr/bin/spiderpool-agent",
      "multus-uninstall",
    ]);
    assert.equal(un.stdout.split("\n").filter((l) => l.startsWith("removed")).length, 3);
    assert.deepEqual(readdirSync(netd), ["10-calico.conflist"]);
  });

  it("issue 21: Node 24, both daemons, spiderpool-init, iproute2 and iptables run in the image", async () => {
    const sh =
      "node --version && spiderpool-agent --help && spiderpool-controller --help && spiderpool-init --help && ip -V && iptables --version";
    const { stdout } = await run("podman", [...PODMAN, ...RUN, tag, "sh", "-c", sh]);
    assert.match(stdout, /^v24\./);
    assert.match(stdout, /usage: spiderpool-agent/);
    assert.match(stdout, /usage: spiderpool-controller/);
    assert.match(stdout, /usage: spiderpoolctl init/);
    assert.match(stdout, /iproute2/);
    assert.match(stdout, /iptables v1\./);
  });
});
