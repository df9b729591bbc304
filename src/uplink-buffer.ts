/**
 * Uplinks kept while the server does not acknowledge: a FIFO of encoded
 * rxpk objects (JSON text, with their original tmst/time), bounded by count,
 * bytes and age; what a limit drops is counted by reason (the oldest go
 * first: the newest have the most value to a network server). Optionally
 * saved to a file (one rxpk per line) so a restart does not lose them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { checkJsonLimits, type JsonLimits } from '../hal/index.js';

/**
 * Size and depth limits of one line of the buffer file, checked before it is
 * parsed: a line is `[atMs, seq, "<rxpk text>"]` (depth 1), and an rxpk of a
 * 255-byte frame is about 600 bytes (up to twice that with its quotes escaped).
 */
export const BUFFER_LINE_LIMITS: JsonLimits = { maxBytes: 16_384, maxDepth: 4 };

/** Limits of the buffer. */
export interface UplinkBufferLimits {
  maxUplinks: number;
  maxBytes: number;
  maxAgeMs: number;
}

/** One uplink: its rxpk text and its place in the order received. */
export interface BufferedUplink {
  rxpk: string;
  seq: number;
}

interface Entry extends BufferedUplink {
  atMs: number;
}

/** A bounded FIFO of rxpk JSON texts. */
export class UplinkBuffer {
  private q: Entry[] = [];
  private head = 0;
  private bytes = 0;
  readonly dropped = { count: 0, bytes: 0, age: 0 };
  /** Uplinks that entered the buffer, and that left it delivered. */
  added = 0;
  delivered = 0;
  private dirty = false;

  constructor(
    private readonly limits: UplinkBufferLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get length(): number {
    return this.q.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** The highest sequence number held (0 when empty). */
  get maxSeq(): number {
    return this.q.length > this.head ? this.q[this.q.length - 1]!.seq : 0;
  }

  /** Adds uplinks where their sequence number puts them (new ones at the end, returned ones in their place), then applies the limits. */
  push(items: BufferedUplink[], atMs = this.now()): void {
    if (items.length === 0) return;
    this.compact();
    for (const it of items) {
      const e = { rxpk: it.rxpk, seq: it.seq, atMs };
      let i = this.q.length;
      while (i > this.head && this.q[i - 1]!.seq > it.seq) i--;
      if (i === this.q.length) this.q.push(e);
      else this.q.splice(i, 0, e);
      this.bytes += it.rxpk.length;
      this.added++;
    }
    this.dirty = true;
    this.enforce();
  }

  /** The oldest uplinks whose JSON fits in `maxBytes` (at least one), without removing them. */
  peek(maxBytes: number): BufferedUplink[] {
    this.expire();
    const out: BufferedUplink[] = [];
    let size = 0;
    for (let i = this.head; i < this.q.length; i++) {
      const e = this.q[i]!;
      if (out.length > 0 && size + e.rxpk.length + 1 > maxBytes) break;
      out.push({ rxpk: e.rxpk, seq: e.seq });
      size += e.rxpk.length + 1;
    }
    return out;
  }

  /** Removes delivered uplinks, by sequence number (older ones may have been put back in front meanwhile). */
  remove(items: BufferedUplink[]): void {
    const seqs = new Set(items.map((i) => i.seq));
    // Usually the head: take them from there without a copy.
    while (this.head < this.q.length && seqs.has(this.q[this.head]!.seq)) {
      seqs.delete(this.q[this.head]!.seq);
      this.bytes -= this.q[this.head]!.rxpk.length;
      this.head++;
      this.delivered++;
    }
    if (seqs.size > 0) {
      const keep: Entry[] = [];
      for (let i = this.head; i < this.q.length; i++) {
        const e = this.q[i]!;
        if (seqs.has(e.seq)) {
          this.bytes -= e.rxpk.length;
          this.delivered++;
        } else keep.push(e);
      }
      this.q = keep;
      this.head = 0;
    }
    this.dirty = true;
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  private dropOldest(reason: 'count' | 'bytes' | 'age'): void {
    this.bytes -= this.q[this.head]!.rxpk.length;
    this.head++;
    this.dropped[reason]++;
  }

  private expire(): void {
    const limit = this.now() - this.limits.maxAgeMs;
    while (this.length > 0 && this.q[this.head]!.atMs < limit) this.dropOldest('age');
  }

  private enforce(): void {
    this.expire();
    while (this.length > this.limits.maxUplinks) this.dropOldest('count');
    while (this.length > 0 && this.bytes > this.limits.maxBytes) this.dropOldest('bytes');
    this.compact();
  }

  /** Writes the buffer to `path` (atomically) when it changed. */
  save(path: string): void {
    if (!this.dirty) return;
    const text = this.q.slice(this.head).map((e) => JSON.stringify([e.atMs, e.seq, e.rxpk])).join('\n');
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    this.dirty = false;
  }

  /** Loads what `save` wrote (a missing file is an empty buffer; a bad line is skipped and counted). */
  load(path: string): { loaded: number; bad: number } {
    if (!existsSync(path)) return { loaded: 0, bad: 0 };
    let loaded = 0;
    let bad = 0;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      if (checkJsonLimits(line, BUFFER_LINE_LIMITS) !== null) {
        bad++;
        continue;
      }
      try {
        const [atMs, seq, rxpk] = JSON.parse(line) as [number, number, string];
        if (typeof atMs !== 'number' || typeof seq !== 'number' || typeof rxpk !== 'string') throw new Error('shape');
        this.q.push({ rxpk, seq, atMs });
        this.bytes += rxpk.length;
        loaded++;
      } catch {
        bad++;
      }
    }
    this.enforce();
    return { loaded, bad };
  }
}
