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

  async read(path: string | undefined): Promise<NamespaceReading> {
    this.reads.push(path);
    const r = path === undefined || !this.vanished.has(path) ? this.readings.get(path) : undefined;
    if (r === undefined) throw new Error(`nsenter: cannot open ${path}: No such file or directory`);
    return r;
  }
}
