/**
 * Uplinks kept while the server does not acknowledge: a FIFO of encoded
 * rxpk objects (JSON text, with their original tmst/time), bounded by count,
 * bytes and age; what a limit drops is counted by reason (the oldest go
 * first: the newest have the most value to a network server). Optionally
 * journaled to a file (uplink-journal.ts) as it changes, so neither a
 * restart nor a kill loses them and a delivered one is never sent again.
 */
import type { JournalEntry, UplinkJournal } from './uplink-journal.js';

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
  /** Already counted in `rxfw` (sent live before it came here): not counted again when delivered. */
  counted?: boolean;
}

interface Entry extends BufferedUplink {
  atMs: number;
}

/** A bounded FIFO of rxpk JSON texts. */
export class UplinkBuffer {
  private q: Entry[] = [];
  private head = 0;
  private bytes = 0;
  /** Dropped by reason: a limit, or `poison` (a datagram the server acknowledged others around but never this uplink). */
  readonly dropped = { count: 0, bytes: 0, age: 0, poison: 0 };
  /** Uplinks that entered the buffer, and that left it delivered. */
  added = 0;
  delivered = 0;
  /** Where changes are recorded, when the buffer has a file. */
  private journal: UplinkJournal | null = null;
  /** Seqs dropped by the limits since the last journal record. */
  private droppedSeqs: number[] = [];

  constructor(
    private readonly limits: UplinkBufferLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records every later change in `journal`, after restoring what it held (in seq order, not journaled again). */
  attach(journal: UplinkJournal, restored: readonly JournalEntry[]): void {
    for (const e of restored) {
      this.q.push({ rxpk: e.rxpk, seq: e.seq, atMs: e.atMs });
      this.bytes += e.rxpk.length;
    }
    this.journal = journal;
    this.enforce();
  }

  /** What the buffer holds, oldest first (for the journal's rewrite). */
  entries(): JournalEntry[] {
    return this.q.slice(this.head).map((e) => ({ seq: e.seq, atMs: e.atMs, rxpk: e.rxpk }));
  }

  /** About what the journal needs to hold the buffer, bytes (for its compaction rule). */
  get journalBytes(): number {
    return this.bytes + 40 * this.length;
  }

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
    const added: Entry[] = [];
    for (const it of items) {
      const e: Entry = { rxpk: it.rxpk, seq: it.seq, atMs };
      if (it.counted) e.counted = true;
      added.push(e);
      let i = this.q.length;
      while (i > this.head && this.q[i - 1]!.seq > it.seq) i--;
      if (i === this.q.length) this.q.push(e);
      else this.q.splice(i, 0, e);
      this.bytes += it.rxpk.length;
      this.added++;
    }
    this.journal?.add(added);
    this.enforce();
  }

  /** The oldest uplinks (not in `skip`) whose JSON fits in `maxBytes` (at least one), without removing them. */
  peek(maxBytes: number, skip?: ReadonlySet<number>): BufferedUplink[] {
    this.expire();
    const out: BufferedUplink[] = [];
    let size = 0;
    for (let i = this.head; i < this.q.length; i++) {
      const e = this.q[i]!;
      if (skip?.has(e.seq)) continue;
      if (out.length > 0 && size + e.rxpk.length + 1 > maxBytes) break;
      out.push(e.counted ? { rxpk: e.rxpk, seq: e.seq, counted: true } : { rxpk: e.rxpk, seq: e.seq });
      size += e.rxpk.length + 1;
    }
    return out;
  }

  /** Removes delivered uplinks, by sequence number (older ones may have been put back in front meanwhile). */
  remove(items: BufferedUplink[]): void {
    const seqs = new Set(items.map((i) => i.seq));
    const gone: number[] = [];
    // Usually the head: take them from there without a copy.
    while (this.head < this.q.length && seqs.has(this.q[this.head]!.seq)) {
      seqs.delete(this.q[this.head]!.seq);
      gone.push(this.q[this.head]!.seq);
      this.bytes -= this.q[this.head]!.rxpk.length;
      this.head++;
      this.delivered++;
    }
    if (seqs.size > 0) {
      const keep: Entry[] = [];
      for (let i = this.head; i < this.q.length; i++) {
        const e = this.q[i]!;
        if (seqs.has(e.seq)) {
          gone.push(e.seq);
          this.bytes -= e.rxpk.length;
          this.delivered++;
        } else keep.push(e);
      }
      this.q = keep;
      this.head = 0;
    }
    this.record(gone);
    this.compact();
  }

  /** Drops the uplink `seq` as poison (see `dropped`); false if it is not held. */
  dropPoison(seq: number): boolean {
    for (let i = this.head; i < this.q.length; i++) {
      const e = this.q[i]!;
      if (e.seq !== seq) continue;
      if (i === this.head) this.head++;
      else this.q.splice(i, 1);
      this.bytes -= e.rxpk.length;
      this.dropped.poison++;
      this.record([seq]);
      return true;
    }
    return false;
  }

  /** Journals removals: an empty buffer just empties the file. */
  private record(seqs: number[]): void {
    if (!this.journal) return;
    if (this.length === 0) this.journal.empty();
    else this.journal.remove(seqs);
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  private dropOldest(reason: 'count' | 'bytes' | 'age'): void {
    this.bytes -= this.q[this.head]!.rxpk.length;
    if (this.journal) this.droppedSeqs.push(this.q[this.head]!.seq);
    this.head++;
    this.dropped[reason]++;
  }

  private expire(): void {
    const limit = this.now() - this.limits.maxAgeMs;
    while (this.length > 0 && this.q[this.head]!.atMs < limit) this.dropOldest('age');
    this.flushDropped();
  }

  private enforce(): void {
    this.expire();
    while (this.length > this.limits.maxUplinks) this.dropOldest('count');
    while (this.length > 0 && this.bytes > this.limits.maxBytes) this.dropOldest('bytes');
    this.flushDropped();
    this.compact();
  }

  private flushDropped(): void {
    if (this.droppedSeqs.length === 0) return;
    this.record(this.droppedSeqs);
    this.droppedSeqs = [];
  }
}
