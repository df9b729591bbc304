/**
 * The uplink buffer's file: an append-only journal, so that what the buffer
 * holds survives a SIGKILL and what it delivered never comes back.
 *
 * Format (one record per line, UTF-8):
 *
 *     pktfwd-uplinks 1                         first line: the format
 *     <crc32 8 hex> ["+",seq,atMs,"<rxpk>"]    an uplink entered the buffer
 *     <crc32 8 hex> ["-",seq,seq,...]          these left it (delivered or dropped)
 *
 * The CRC-32 (zlib's) covers the JSON after the space. Reading keeps every
 * "+" record whose checksum, shape and message (checked as strictly as a
 * fresh one: `checkRxpkText` for a UDP server's rxpk, `checkLnsUplinkText`
 * for an LNS's updf/jreq/propdf) are good and that no "-" record removed; anything
 * else is skipped and counted by reason (`torn` for an unterminated last line,
 * `nul` for the zero-filled tail a crash can leave, `limits`, `checksum`,
 * `json`, `shape`, `rxpk`, `duplicate`). Files of the earlier format (lines
 * `[atMs,seq,"<rxpk>"]`, saved every 5 s) are read the same way.
 *
 * Durability: each change is written (one `write` per batch) before the
 * buffer's call returns, so a killed process loses nothing the buffer held;
 * the data reaches the disk with an `fdatasync` at most once a second and at
 * close, so a power cut loses at most the last second of changes. The file
 * is rewritten (temporary file, fsync, rename, directory fsync) at open, when
 * it grows past twice what it holds (and 1 MiB), and emptied in place when
 * the buffer empties.
 *
 * Failure: a journal that cannot be opened for writing (read-only directory
 * or filesystem) is not replayed: the uplinks in it stay in the file and are
 * not sent, because their delivery could not be recorded and every restart
 * would send them again. A write that fails later (full disk, I/O error) is
 * undone (the file is cut back to its last whole record; to zero when the
 * failed record was a removal, since the file would otherwise replay what was
 * delivered), the buffer carries on in memory, and a rewrite is tried every
 * second until one succeeds. `state` says which, for the status.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { checkJsonLimits } from '../hal/index.js';
import { checkRxpkText } from './protocol/index.js';

/** First line of a journal file. */
export const JOURNAL_MAGIC = 'pktfwd-uplinks 1';

/** Longest record line accepted when reading (an rxpk of a 255-byte frame is ~600 bytes, twice that escaped). */
export const JOURNAL_LINE_MAX_BYTES = 16_384;

/** Seqs per removal record (keeps each line far below the line limit). */
const SEQS_PER_LINE = 500;

/** At most one fdatasync per this many ms. */
export const JOURNAL_SYNC_MS = 1000;

/** Retry interval of the rewrite after a failed write, ms. */
const RETRY_MS = 1000;

/** One buffered uplink as the journal stores it. */
export interface JournalEntry {
  seq: number;
  atMs: number;
  rxpk: string;
}

/** Reasons a line is skipped when the journal is read. */
export type JournalBadReason = 'torn' | 'nul' | 'limits' | 'checksum' | 'json' | 'shape' | 'rxpk' | 'duplicate';

/** What reading the journal found. */
export interface JournalReadReport {
  /** Uplinks still held (added and not removed). */
  loaded: number;
  /** Skipped lines by reason. */
  bad: Partial<Record<JournalBadReason, number>>;
  /** The first skipped line: its number (1-based) and reason, for the log. */
  firstBad: { line: number; reason: JournalBadReason; detail: string } | null;
  /** The file was in the earlier whole-file format. */
  legacy: boolean;
}

/** Whether the journal is recording. */
export type JournalState =
  | { ok: true }
  | { ok: false; since: number; reason: string; /** what the file still holds cannot be trusted to match memory */ phase: 'open' | 'write' };

function line(json: string): string {
  return `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Checks one stored message before it may be sent again: null when good, else why not. */
export type JournalRecordCheck = (text: string) => string | null;

/**
 * Parses a journal text into its live entries (seq order) and a report;
 * pure, for tests and the CLI. `check` judges each stored message (rxpk
 * JSON for a UDP server's buffer, an LNS uplink message for an LNS's).
 */
export function readJournalText(text: string, check: JournalRecordCheck = checkRxpkText): { entries: JournalEntry[]; report: JournalReadReport } {
  const live = new Map<number, JournalEntry>();
  const removed = new Set<number>();
  const report: JournalReadReport = { loaded: 0, bad: {}, firstBad: null, legacy: false };
  const lines = text.split('\n');
  const unterminated = lines.length > 0 && lines[lines.length - 1] !== '' ? lines.length - 1 : -1;
  const bad = (i: number, reason: JournalBadReason, detail: string) => {
    report.bad[reason] = (report.bad[reason] ?? 0) + 1;
    if (!report.firstBad) report.firstBad = { line: i + 1, reason, detail: detail.slice(0, 120) };
  };
  let start = 0;
  if (lines[0] === JOURNAL_MAGIC) start = 1;
  else if (lines[0]?.startsWith('[')) report.legacy = true;
  for (let i = start; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    if (/^\u0000+$/.test(l)) {
      bad(i, 'nul', `${l.length} NUL bytes`);
      continue;
    }
    if (i === unterminated && !report.legacy) {
      bad(i, 'torn', 'last line not terminated');
      continue;
    }
    let json = l;
    if (!report.legacy) {
      const m = /^([0-9a-f]{8}) /.exec(l);
      json = l.slice(9);
      if (!m || (crc32(json) >>> 0) !== parseInt(m[1]!, 16)) {
        bad(i, 'checksum', m ? 'CRC-32 does not match' : 'no CRC-32 prefix');
        continue;
      }
    }
    const over = checkJsonLimits(json, { maxBytes: JOURNAL_LINE_MAX_BYTES, maxDepth: 4 });
    if (over !== null) {
      bad(i, 'limits', over);
      continue;
    }
    let rec: unknown;
    try {
      rec = JSON.parse(json);
    } catch (err) {
      bad(i, i === unterminated ? 'torn' : 'json', (err as Error).message);
      continue;
    }
    if (!Array.isArray(rec)) {
      bad(i, 'shape', 'not an array');
      continue;
    }
    const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
    if (report.legacy || rec[0] === '+') {
      const [atMs, seq, rxpk] = report.legacy ? rec : [rec[2], rec[1], rec[3]];
      if (rec.length !== (report.legacy ? 3 : 4) || typeof atMs !== 'number' || !Number.isFinite(atMs) || !isSeq(seq) || typeof rxpk !== 'string') {
        bad(i, 'shape', 'not an uplink record');
        continue;
      }
      const why = check(rxpk);
      if (why !== null) {
        bad(i, 'rxpk', why);
        continue;
      }
      if (live.has(seq) || removed.has(seq)) {
        bad(i, 'duplicate', `seq ${seq} seen before`);
        continue;
      }
      live.set(seq, { seq, atMs, rxpk });
    } else if (rec[0] === '-' && rec.length >= 2 && rec.slice(1).every(isSeq)) {
      for (const s of rec.slice(1) as number[]) {
        live.delete(s);
        removed.add(s);
      }
    } else {
      bad(i, 'shape', 'neither an uplink nor a removal record');
    }
  }
  const entries = [...live.values()].sort((a, b) => a.seq - b.seq);
  report.loaded = entries.length;
  return { entries, report };
}

/** The journal of one buffer file (see the header). */
export class UplinkJournal {
  private fd: number | null = null;
  /** Bytes in the file after the last whole record. */
  private size = 0;
  private unsynced = false;
  private lastSyncMs = 0;
  private lastRetryMs = 0;
  state: JournalState = { ok: true };
  /** Counts for the status: records written, fdatasyncs, rewrites, failed writes. */
  readonly counters = { records: 0, syncs: 0, rewrites: 0, failures: 0 };

  constructor(
    readonly path: string,
    private readonly clock: () => number = () => performance.now(),
    private readonly check: JournalRecordCheck = checkRxpkText,
  ) {}

  /**
   * Reads the file and takes it over: rewritten with exactly what is
   * returned. When it cannot be written, nothing is returned for sending
   * (`state` says why; the file is left as it was).
   */
  open(): { entries: JournalEntry[]; report: JournalReadReport; held: number } {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { entries, report } = readJournalText(text, this.check);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      this.rewrite(entries);
    } catch (err) {
      this.state = { ok: false, since: this.clock(), reason: errText(err), phase: 'open' };
      return { entries: [], report, held: entries.length };
    }
    return { entries, report, held: entries.length };
  }

  /** Records uplinks that entered the buffer. */
  add(entries: readonly JournalEntry[]): void {
    if (entries.length === 0) return;
    let text = '';
    for (const e of entries) text += line(JSON.stringify(['+', e.seq, e.atMs, e.rxpk]));
    this.append(text, entries.length, false);
  }

  /** Records uplinks that left the buffer. */
  remove(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    let text = '';
    for (let i = 0; i < seqs.length; i += SEQS_PER_LINE) text += line(JSON.stringify(['-', ...seqs.slice(i, i + SEQS_PER_LINE)]));
    this.append(text, Math.ceil(seqs.length / SEQS_PER_LINE), true);
  }

  /** The buffer is empty: the file is cut back to its header (no rewrite needed). */
  empty(): void {
    if (!this.state.ok || this.fd === null) return;
    const header = JOURNAL_MAGIC.length + 1;
    try {
      ftruncateSync(this.fd, header);
      this.size = header;
      this.unsynced = true;
    } catch (err) {
      this.fail(err, true);
    }
  }

  /** Bytes the file holds. */
  get fileBytes(): number {
    return this.size;
  }

  /**
   * Periodic work: the fdatasync (at most once a second), the rewrite after
   * a failure (once a second), and compaction when the file holds more than
   * twice `liveBytes` and over 1 MiB. `entries` gives what the buffer holds.
   */
  tick(entries: () => readonly JournalEntry[], liveBytes: number): void {
    const now = this.clock();
    if (!this.state.ok) {
      if (this.state.phase === 'write' && now - this.lastRetryMs >= RETRY_MS) {
        this.lastRetryMs = now;
        try {
          this.rewrite(entries());
          this.state = { ok: true };
        } catch {
          // still failing: the state keeps its first reason and time
        }
      }
      return;
    }
    if (this.size > 1 << 20 && this.size > 2 * liveBytes) {
      try {
        this.rewrite(entries());
      } catch (err) {
        // The old file is intact and appends still work; try again at the next growth step.
        this.fail(err, false);
      }
      return;
    }
    if (this.unsynced && now - this.lastSyncMs >= JOURNAL_SYNC_MS) this.sync();
  }

  /** fdatasync now (at close). */
  sync(): void {
    if (this.fd === null || !this.unsynced) return;
    this.lastSyncMs = this.clock();
    try {
      fdatasyncSync(this.fd);
      this.unsynced = false;
      this.counters.syncs++;
    } catch (err) {
      this.fail(err, false);
    }
  }

  /** Final sync and close; a last rewrite first when writes had failed. */
  close(entries: () => readonly JournalEntry[]): void {
    if (!this.state.ok && this.state.phase === 'write') {
      try {
        this.rewrite(entries());
        this.state = { ok: true };
      } catch {
        // stays failed: the file holds what it held (see fail())
      }
    }
    this.sync();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(text: string, records: number, removal: boolean): void {
    if (this.fd === null) return;
    if (!this.state.ok) {
      // Not recording until a rewrite succeeds; a removal that cannot be recorded empties the file (no replay).
      if (removal && this.size > 0) this.fail(new Error('removal not recorded'), true);
      return;
    }
    const buf = Buffer.from(text);
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      this.size += buf.length;
      this.unsynced = true;
      this.counters.records += records;
    } catch (err) {
      this.fail(err, removal);
    }
  }

  /**
   * A write failed: cut the torn record off (or everything, when a removal
   * could not be recorded: the file would replay delivered uplinks); memory
   * carries on and tick() retries a rewrite.
   */
  private fail(err: unknown, removal: boolean): void {
    this.counters.failures++;
    if (this.fd !== null) {
      try {
        ftruncateSync(this.fd, removal ? 0 : this.size);
        if (removal) this.size = 0;
      } catch {
        // nothing more can be done with this file now
      }
    }
    if (this.state.ok) this.state = { ok: false, since: this.clock(), reason: errText(err), phase: 'write' };
    this.lastRetryMs = this.clock();
  }

  /** Writes `entries` to a temporary file, syncs it and renames it over the journal. */
  private rewrite(entries: readonly JournalEntry[]): void {
    const tmp = `${this.path}.tmp`;
    let text = `${JOURNAL_MAGIC}\n`;
    for (const e of entries) text += line(JSON.stringify(['+', e.seq, e.atMs, e.rxpk]));
    const buf = Buffer.from(text);
    let fd: number | null = null;
    try {
      fd = openSync(tmp, 'w', 0o600);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fdatasyncSync(fd);
      closeSync(fd);
      fd = null;
      renameSync(tmp, this.path);
    } catch (err) {
      if (fd !== null) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // it may not exist
      }
      throw err;
    }
    syncDir(dirname(this.path));
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
    this.unsynced = false;
    this.counters.rewrites++;
  }
}

function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fdatasyncSync(fd);
  } catch {
    // some filesystems refuse a directory fsync; the rename is still atomic
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.slice(0, 160)}` : String(e.message ?? err).slice(0, 160);
}
