/**
 * A netdev's driver statistics (`ethtool -S`) and bus (`ethtool -i`), read in-process through
 * the host addon's SIOCETHTOOL ioctls and decoded here: names come as ETH_GSTRING_LEN-byte
 * NUL-padded slots, values as native (little-endian) u64s in the same order.
 */
import type { HostAddon, RawEthtoolStats } from "./addon.ts";
import { syscallError } from "./addon.ts";

const ETH_GSTRING_LEN = 32;

export interface EthtoolStats {
  /** The PCI address for a PCI NIC ("0000:3b:00.2"), "" for virtual devices. */
  busInfo: string;
  stats: Record<string, number>;
}

export function decodeEthtoolStats(raw: RawEthtoolStats): EthtoolStats {
  const names = new Uint8Array(raw.strings);
  const values = new DataView(raw.values);
  const n = Math.min(Math.floor(names.length / ETH_GSTRING_LEN), Math.floor(values.byteLength / 8));
  const stats: Record<string, number> = {};
  const text = new TextDecoder();
  for (let i = 0; i < n; i++) {
    const slot = names.subarray(i * ETH_GSTRING_LEN, (i + 1) * ETH_GSTRING_LEN);
    const nul = slot.indexOf(0);
    const name = text.decode(nul < 0 ? slot : slot.subarray(0, nul));
    if (name !== "") stats[name] = Number(values.getBigUint64(i * 8, true));
  }
  return { busInfo: raw.busInfo, stats };
}

/** The statistics of `ifname` in the namespace at nsPath (null: the agent's own). */
export function readEthtoolStats(addon: HostAddon, nsPath: string | null, ifname: string): EthtoolStats {
  try {
    return decodeEthtoolStats(addon.ethtoolStats(nsPath, ifname));
  } catch (err) {
    throw syscallError(err);
  }
}
