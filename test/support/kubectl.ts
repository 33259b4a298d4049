// The kubectl on this machine (Debian's kubernetes-client), run against a kubeconfig in a
// directory of its own, for suites that check a real client against the embedded server.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** SPIDERPOOL_KUBECTL picks another kubectl; undefined when none is installed. */
export const KUBECTL = [process.env["SPIDERPOOL_KUBECTL"], "/usr/bin/kubectl", "/usr/local/bin/kubectl"].find(
  (p) => p !== undefined && p !== "" && existsSync(p),
);

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with `home` as HOME (its caches) and `kubeconfig`; never rejects. */
export function runKubectl(home: string, kubeconfig: string, args: string[], timeoutMs = 20_000): Promise<KubectlRun> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL ?? "kubectl",
      args,
      { env: { PATH: process.env["PATH"] ?? "", HOME: home, KUBECONFIG: kubeconfig }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
