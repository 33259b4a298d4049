/**
 * An in-memory RdmaSource: readings by namespace path (undefined: the host's), a netns mode,
 * and namespaces that vanish between the listing and the read.
 */
import type { NamespaceReading, RdmaSource } from "../../src/rdma/model.ts";

export class FakeRdmaSource implements RdmaSource {
  mode: "shared" | "exclusive" = "shared";
  readonly readings = new Map<string | undefined, NamespaceReading>();
  /** Listed but gone by the time they are read. */
  readonly vanished = new Set<string>();
  readonly reads: Array<string | undefined> = [];

  async netnsMode(): Promise<"shared" | "exclusive"> {
    return this.mode;
  }

  async namespaces(): Promise<string[]> {
    return [...this.readings.keys(), ...this.vanished].filter((k): k is string => k !== undefined).sort();
  }

  async readAll(paths: readonly (string | undefined)[]): Promise<NamespaceReading[]> {
    this.reads.push(...paths);
    const host = this.readings.get(undefined);
    if (host === undefined) throw new Error("rdma: the host's namespace cannot be read");
    return paths.flatMap((p) => {
      const r = p === undefined ? host : this.vanished.has(p) ? undefined : this.readings.get(p);
      return r === undefined ? [] : [r];
    });
  }
}
