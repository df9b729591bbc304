/**
 * One uplink buffer's file (buffer_conf.file) as a backend runs it: opened
 * at start (what the last run kept comes back into the buffer), written as
 * the buffer changes (uplink-journal.ts), its sync, compaction and retry on
 * the backend's tick, closed at stop; one log line per change of state. The
 * Semtech UDP servers and the LNS backends share it.
 */
import type { Logger } from 'pino';
import type { UplinkBuffer } from './uplink-buffer.js';
import { UplinkJournal, type JournalRecordCheck, type JournalState } from './uplink-journal.js';

/** The file's state for the status API. */
export interface BufferFileStatus {
  file: string; ok: boolean; reason: string | null; sinceS: number | null; bytes: number; records: number; syncs: number; rewrites: number; failures: number;
}

const reasonOf = (s: JournalState): string | null => (s.ok ? null : s.reason);

/** The journal of one buffer, with its logging. */
export class BufferFile {
  private journal: UplinkJournal | null = null;
  /** The journal's state at the last tick (one log line per change). */
  private wasOk = true;

  constructor(
    readonly path: string,
    private readonly buffer: UplinkBuffer,
    private readonly log: Logger,
    private readonly check?: JournalRecordCheck,
  ) {}

  /** Reads the file into the buffer and takes it over; a file that cannot be read leaves the buffer in memory only. */
  open(): void {
    const file = this.path;
    const j = new UplinkJournal(file, undefined, this.check);
    let r;
    try {
      r = j.open();
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'uplink buffer file not read: buffering in memory only');
      return;
    }
    this.journal = j;
    this.wasOk = j.state.ok;
    this.buffer.attach(j, r.entries);
    const bad = Object.values(r.report.bad).reduce((a, n) => a + (n ?? 0), 0);
    if (bad > 0) {
      this.log.warn({ file, loaded: r.report.loaded, bad: r.report.bad, first: r.report.firstBad }, 'uplink buffer file: damaged records skipped');
    }
    if (!j.state.ok) {
      this.log.warn(
        { file, err: j.state.reason, held: r.held },
        'uplink buffer file cannot be written: buffering in memory only; the uplinks it holds are kept there and not sent (their delivery could not be recorded, so every restart would send them again)',
      );
    } else if (r.report.loaded > 0) {
      this.log.info({ file, loaded: r.report.loaded, legacy: r.report.legacy || undefined }, 'buffered uplinks loaded from the last run');
    }
  }

  /** Sync, compaction and the rewrite after a failure; says when the file stops or starts being written. */
  tick(): void {
    const j = this.journal;
    if (!j) return;
    const wasOk = this.wasOk;
    j.tick(() => this.buffer.entries(), this.buffer.journalBytes);
    this.wasOk = j.state.ok;
    if (wasOk && !j.state.ok) this.log.warn({ file: j.path, err: reasonOf(j.state) }, 'uplink buffer file not written: buffering in memory only until it can be rewritten (retried every second)');
    else if (!wasOk && j.state.ok) this.log.info({ file: j.path, uplinks: this.buffer.length }, 'uplink buffer file written again');
  }

  /** Final sync and close (what the buffer holds stays in the file for the next run). */
  close(): void {
    const j = this.journal;
    if (!j) return;
    const before = j.state.ok;
    j.close(() => this.buffer.entries());
    if (!j.state.ok && before) this.log.warn({ file: j.path, err: reasonOf(j.state) }, 'uplink buffer not saved');
  }

  /** For the status API (null when the file could not be read at all). */
  get status(): BufferFileStatus | null {
    const j = this.journal;
    if (!j) return null;
    const st = j.state;
    return {
      file: j.path, ok: st.ok, reason: st.ok ? null : st.reason,
      sinceS: st.ok ? null : Math.round((performance.now() - st.since) / 1000),
      bytes: j.fileBytes, ...j.counters,
    };
  }
}
