// Every benchmark ends with `spiderpoolctl check` against the cluster it ran on: figures
// from a run that left the IPAM state inconsistent are not figures.
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CTL = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "bin", "spiderpoolctl");

export interface CheckOutcome {
  pass: boolean;
  report: string;
}

export function spiderpoolctlCheck(kubeconfig: string): Promise<CheckOutcome> {
  return new Promise((done) => {
    execFile(CTL, ["check", "--kubeconfig", kubeconfig], { timeout: 120_000 }, (err, stdout, stderr) => {
      done({ pass: err === null, report: `${stdout}${stderr}`.trim() });
    });
  });
}
