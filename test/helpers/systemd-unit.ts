/**
 * A small reader for systemd unit files (sections, `Key=value` lines,
 * comments, no line continuations: pktfwd.service has none) and the checks
 * the unit's device list must pass against the kernel's chrdev names.
 */
import { KERNEL_DEVICE_NAMES } from '../fixtures/kernel-device-names.js';

export interface UnitEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

export interface ParsedUnit {
  entries: UnitEntry[];
  /** Comment lines' text (without the leading `#`/`;`). */
  comments: string[];
  /** Lines that are neither a section, a comment, a blank nor Key=value. */
  junk: { line: number; text: string }[];
}

export function parseUnit(text: string): ParsedUnit {
  const entries: UnitEntry[] = [];
  const comments: string[] = [];
  const junk: { line: number; text: string }[] = [];
  let section = '';
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#') || line.startsWith(';')) {
      comments.push(line.slice(1));
      return;
    }
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || section === '') {
      junk.push({ line: i + 1, text: raw });
      return;
    }
    entries.push({ section, key: kv[1]!, value: kv[2]!, line: i + 1 });
  });
  return { entries, comments, junk };
}

export function values(u: ParsedUnit, section: string, key: string): string[] {
  return u.entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);
}

/**
 * What is wrong with the unit's DeviceAllow= lines: a class not in the
 * kernel-name table (or one the table says not to allow), a /dev path or a
 * block class (the table has none), an access mode other than r/w, or an
 * allowed table entry the unit lacks. Empty when all is well.
 */
export function deviceAllowProblems(u: ParsedUnit): string[] {
  const problems: string[] = [];
  const table = new Map(KERNEL_DEVICE_NAMES.map((d) => [d.name, d]));
  const named = new Set<string>();
  for (const v of values(u, 'Service', 'DeviceAllow')) {
    const [spec = '', mode = '', ...rest] = v.trim().split(/\s+/);
    if (rest.length) problems.push(`DeviceAllow=${v}: more than a specifier and a mode`);
    if (!/^[rw]+$/.test(mode)) problems.push(`DeviceAllow=${v}: mode "${mode}" (expected r, w or rw; never m, mknod)`);
    const m = /^char-(.+)$/.exec(spec);
    if (!m) {
      problems.push(`DeviceAllow=${v}: "${spec}" is not a char-NAME class from test/fixtures/kernel-device-names.ts (no device paths or block classes are in the table)`);
      continue;
    }
    const entry = table.get(m[1]!);
    if (!entry) {
      problems.push(`DeviceAllow=${v}: "${m[1]}" is not a kernel chrdev name in test/fixtures/kernel-device-names.ts (is it a class or /dev name rather than the name in /proc/devices?)`);
      continue;
    }
    if (!entry.allowed) problems.push(`DeviceAllow=${v}: the table marks "${entry.name}" as not allowed (${entry.why})`);
    named.add(entry.name);
  }
  for (const d of KERNEL_DEVICE_NAMES) {
    if (d.allowed && !named.has(d.name)) problems.push(`DeviceAllow=char-${d.name} is missing (the table allows it: ${d.why})`);
  }
  return problems;
}
