/**
 * `gateway_ID: "auto"`: the gateway EUI-64 from the MAC address of the
 * primary network interface, FF FE inserted in the middle (the EUI-48 to
 * EUI-64 mapping gateways conventionally use: B8:27:EB:12:34:56 →
 * B827EBFFFE123456).
 *
 * The primary interface is the one carrying the IPv4 default route
 * (/proc/net/route, destination 00000000), else eth0, else wlan0, else the
 * first non-loopback interface with a non-zero MAC, in name order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** What the derivation looks at; tests pass their own. */
export interface MacSource {
  /** Interface name → MAC ("aa:bb:cc:dd:ee:ff"), loopback and zero MACs included or not. */
  interfaces(): Record<string, string>;
  /** Text of /proc/net/route, or null when unreadable. */
  routeTable(): string | null;
}

/** The running machine. */
export const systemMacSource: MacSource = {
  interfaces() {
    const out: Record<string, string> = {};
    // /sys/class/net lists interfaces before they have an address (at boot, before DHCP).
    try {
      for (const name of readdirSync('/sys/class/net')) {
        try {
          out[name] = readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim();
        } catch {
          // an interface without an address file (e.g. some tunnels)
        }
      }
      if (Object.keys(out).length > 0) return out;
    } catch {
      // not Linux, or /sys not mounted: ask Node
    }
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      const a = addrs?.find((x) => !x.internal && x.mac && x.mac !== '00:00:00:00:00:00');
      if (a) out[name] = a.mac;
    }
    return out;
  },
  routeTable() {
    try {
      return readFileSync('/proc/net/route', 'utf8');
    } catch {
      return null;
    }
  },
};

/** The interface of the IPv4 default route in a /proc/net/route text, or null. */
export function defaultRouteInterface(table: string | null): string | null {
  if (!table) return null;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2 && f[1] === '00000000') return f[0]!;
  }
  return null;
}

/** EUI-64 (16 lower-case hex digits) and the interface it came from, or null when no MAC is found. */
export function autoGatewayId(src: MacSource = systemMacSource): { id: string; iface: string; mac: string } | null {
  const macs = Object.fromEntries(Object.entries(src.interfaces()).filter(([name, mac]) => name !== 'lo' && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) && mac !== '00:00:00:00:00:00'));
  const names = Object.keys(macs).sort();
  const route = defaultRouteInterface(src.routeTable());
  const iface = [route, 'eth0', 'wlan0', ...names].find((n): n is string => n !== null && n !== undefined && n in macs);
  if (!iface) return null;
  const mac = macs[iface]!.toLowerCase();
  const b = mac.split(':');
  return { id: [...b.slice(0, 3), 'ff', 'fe', ...b.slice(3)].join(''), iface, mac };
}
