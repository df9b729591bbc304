/**
 * CUPS (Basics Station's Configuration and Update Server) for one station
 * directory: asks `<cups.uri>/update-info` at start, every `intervalS` (24 h,
 * CUPS_OKSYNC_INTV) after a good answer and whenever the LNS is connected,
 * 60 s after a failure or an update (CUPS_RESYNC_INTV), and soon after the
 * LNS refused this gateway; installs new URIs and credentials for the LNS
 * (tc.*) and for itself (cups.*), and hands the LNS its new credentials.
 * After a refusal, or when more than 6 attempts failed in a row, the next
 * attempt uses the next set of CUPS files: the regular one, `cups-bak` (the
 * last set CUPS answered), `cups-boot` (the factory set). A set that worked
 * is copied to `-bak` (CUPS answered with the regular cups set; the LNS
 * connected with the regular tc set) [Basics Station src/cups.c: FAIL_CNT_THRES
 * 6, credential set rotation; src/tc.c, src/sys.c backupConfigFiles]. A
 * firmware update segment is counted and not applied: pktfwd is updated with
 * its package.
 */
import { accessSync, constants } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { guard } from '../../hal/index.js';
import { backupCredentials, checkUpdate, installCredentials, parseUpdateInfo, rollForward, splitCredentials, updateDataStart, CUPS_MAX_HEAD_BYTES, type CredentialFiles } from './cups-protocol.js';
import { describeSocketError } from './socket-errors.js';
import { credentialCrc, hasCredentialSet, readCredentialSet, type CredCategory, type CredSet, type StationCredentials } from './station-files.js';

/** After a good answer, or while the LNS is connected, s (CUPS_OKSYNC_INTV 24 h). */
export const CUPS_OK_INTERVAL_S = 86_400;
/** After a failure or an update, s (CUPS_RESYNC_INTV 1 min). */
export const CUPS_RETRY_S = 60;
/** Failures in a row beyond which each failure moves to the next file set (FAIL_CNT_THRES). */
export const CUPS_ROTATE_AFTER = 6;
/** The whole exchange may take this long, ms (CUPS_CONN_TIMEOUT 60 s). */
export const CUPS_TIMEOUT_MS = 60_000;

const SETS: readonly CredSet[] = ['', '-bak', '-boot'];
const setName = (s: CredSet) => (s === '' ? 'regular' : s.slice(1));

export interface CupsClientOptions {
  dir: string;
  /** The router id (id6 of the gateway EUI), as in LNS discovery. */
  router: string;
  version: string;
  log: Logger;
  /** New tc.* files were installed: the LNS reconnects with these. */
  onTcCredentials: (creds: StationCredentials) => void;
  /** The LNS is connected (a failed check then waits the regular interval, as Basics Station). */
  lnsConnected: () => boolean;
  onInternalError: (handler: string) => void;
  /** Overrides (tests): the regular interval and the retry delay, s. */
  intervalS?: number;
  retryS?: number;
}

export type CupsState = 'idle' | 'asking' | 'waiting' | 'stopped';

/** Why an attempt failed: `refused` (HTTP 401/403/404) moves to the next file set at once. */
class CupsFailure extends Error {
  constructor(message: string, readonly refused = false) {
    super(message);
  }
}

export class CupsClient {
  state: CupsState = 'idle';
  lastError: string | null = null;
  lastCheckAtMs: number | null = null;
  lastUpdate: string | null = null;
  readonly counters = { requests: 0, failures: 0, updates: 0, tcUpdates: 0, cupsUpdates: 0, firmwareOffered: 0 };
  private timer: NodeJS.Timeout | null = null;
  private failuresInRow = 0;
  private set: CredSet = '';
  private request: http.ClientRequest | null = null;
  /** When the next check is due (Date.now ms), or null while none is scheduled. */
  private dueAtMs: number | null = null;
  /** Bumped by stop(): an attempt that started before does nothing when it ends. */
  private generation = 0;
  /** The tc set was copied to tc-bak since it was last installed (once it has worked). */
  private tcBackedUp = false;
  private cupsBackedUp = false;

  constructor(private readonly o: CupsClientOptions) {
    // An update interrupted by a crash or power cut is finished before anything reads the files.
    for (const cat of ['cups', 'tc'] as const) {
      try {
        if (rollForward(o.dir, cat)) o.log.warn({ dir: o.dir, files: cat }, 'CUPS: an interrupted credentials update was completed');
      } catch (err) {
        o.log.error({ dir: o.dir, files: cat, err: (err as Error).message }, 'CUPS: an interrupted credentials update could not be completed');
      }
    }
    try {
      accessSync(o.dir, constants.W_OK);
    } catch (err) {
      o.log.error({ dir: o.dir, code: (err as NodeJS.ErrnoException).code },
        'CUPS cannot install updates: the station directory is not writable by this process (under the systemd unit, keep the station files in /var/lib/pktfwd/station)');
    }
  }

  start(): void {
    this.state = 'idle';
    this.schedule(0);
  }

  stop(): void {
    this.generation++;
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dueAtMs = null;
    this.request?.destroy();
    this.request = null;
  }

  /** The LNS refused this gateway or keeps failing: ask CUPS soon (at most once a retry period). */
  lnsRefused(): void {
    if (this.state === 'stopped' || this.state === 'asking') return;
    const since = this.lastCheckAtMs === null ? Infinity : (Date.now() - this.lastCheckAtMs) / 1000;
    const inS = Math.max(0, this.retryS() - since);
    // Only ever brings the next check forward.
    if (this.dueAtMs !== null && this.dueAtMs <= Date.now() + inS * 1000) return;
    this.o.log.info({ inS: Math.round(inS) }, 'CUPS: the LNS refused this gateway or kept failing; asking CUPS for new credentials');
    this.schedule(inS);
  }

  /** The LNS connected with the regular tc set: it works, so it becomes tc-bak (once per installed set). */
  lnsUp(): void {
    if (this.tcBackedUp || this.state === 'stopped') return;
    this.tcBackedUp = true;
    this.backup('tc');
  }

  status(): Record<string, unknown> {
    let uri: string | null = null;
    try {
      uri = readCredentialSet(this.o.dir, 'cups', this.set).uri;
    } catch {
      uri = null;
    }
    return {
      uri, set: setName(this.set), state: this.state, lastError: this.lastError, lastUpdate: this.lastUpdate,
      lastCheckAgeS: this.lastCheckAtMs === null ? null : Math.round((Date.now() - this.lastCheckAtMs) / 100) / 10, counters: { ...this.counters },
    };
  }

  /** The delay after a failure or an update: 60 s, or the regular interval if that is shorter. */
  private retryS(): number {
    return Math.min(this.o.retryS ?? CUPS_RETRY_S, this.o.intervalS ?? CUPS_OK_INTERVAL_S);
  }

  private backup(cat: CredCategory): void {
    try {
      backupCredentials(this.o.dir, cat);
    } catch (err) {
      this.o.log.warn({ dir: this.o.dir, files: cat, err: (err as Error).message }, 'CUPS: the working credentials could not be copied to their -bak set');
    }
  }

  private schedule(delayS: number): void {
    if (this.state === 'stopped') return;
    if (this.timer) clearTimeout(this.timer);
    if (this.state !== 'asking') this.state = 'waiting';
    this.dueAtMs = Date.now() + delayS * 1000;
    this.timer = setTimeout(guard(this.o.log, this.o.onInternalError, 'cups timer', () => {
      this.timer = null;
      this.dueAtMs = null;
      return this.ask();
    }), delayS * 1000);
    this.timer.unref?.();
  }

  /** The next set that has a cups.uri, from `from` on (a file that cannot be read counts as absent). */
  private usableSet(from: CredSet): CredSet | null {
    for (let i = 0; i < SETS.length; i++) {
      const s = SETS[(SETS.indexOf(from) + i) % SETS.length]!;
      try {
        if (hasCredentialSet(this.o.dir, 'cups', s)) return s;
      } catch {
        // unreadable: the next set
      }
    }
    return null;
  }

  private async ask(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'asking') return;
    const gen = this.generation;
    this.state = 'asking';
    try {
      await this.attempt(gen);
    } catch (err) {
      if (gen !== this.generation) return;
      this.fail(err instanceof CupsFailure ? err.message : `internal error: ${(err as Error).message}`, err instanceof CupsFailure && err.refused);
    }
  }

  private async attempt(gen: number): Promise<void> {
    const set = this.usableSet(this.set);
    if (set === null) throw new CupsFailure(`no readable cups.uri (nor cups-bak.uri, cups-boot.uri) in ${this.o.dir}`);
    this.set = set;
    let creds: StationCredentials;
    try {
      creds = readCredentialSet(this.o.dir, 'cups', set);
    } catch (err) {
      throw new CupsFailure((err as Error).message, true);
    }
    this.counters.requests++;
    this.lastCheckAtMs = Date.now();
    const uriOf = (cat: CredCategory) => {
      try {
        return readCredentialSet(this.o.dir, cat, '').uri;
      } catch {
        return '';
      }
    };
    const crcOf = (cat: CredCategory) => {
      try {
        return credentialCrc(this.o.dir, cat);
      } catch {
        return 0;
      }
    };
    const body = JSON.stringify({
      router: this.o.router, cupsUri: uriOf('cups'), tcUri: uriOf('tc'), cupsCredCrc: crcOf('cups'), tcCredCrc: crcOf('tc'),
      station: `pktfwd ${this.o.version}`, model: 'pktfwd', package: this.o.version, keys: [],
    });
    const url = `${creds.uri.replace(/\/+$/, '')}/update-info`;
    this.o.log.info({ uri: url, set: setName(set) }, 'CUPS: asking for updates');
    let answer: { status: number; head: Buffer; skipped: number };
    try {
      answer = await this.post(url, creds, body);
    } catch (err) {
      throw new CupsFailure(`${url}: ${describeSocketError(err as Error & { code?: string }, 'cups')}`);
    }
    if (gen !== this.generation) return;
    if (answer.status !== 200) {
      const hint = answer.status === 401 || answer.status === 403 ? ' (the credentials in cups.key were refused)' : answer.status === 404 ? ' (CUPS does not know this router)' : '';
      throw new CupsFailure(`${url}: HTTP ${answer.status}${hint}`, answer.status === 401 || answer.status === 403 || answer.status === 404);
    }
    // CUPS answered this set: with the regular one, that set works and becomes cups-bak (once a run, as Basics Station).
    if (set === '' && !this.cupsBackedUp) {
      this.cupsBackedUp = true;
      this.backup('cups');
    }
    this.apply(answer.head, answer.skipped);
  }

  private apply(head: Buffer, skipped: number): void {
    const r = parseUpdateInfo(head, skipped);
    if (!r.ok) throw new CupsFailure(`answer unusable: ${r.reason}`);
    const u = r.value;
    const split = (b: Buffer | null, what: string): CredentialFiles | null => {
      if (!b) return null;
      const s = splitCredentials(b);
      if (!s.ok) throw new CupsFailure(`answer unusable: ${what} credentials: ${s.reason}`);
      return s.value;
    };
    const tcFiles = split(u.tcCred, 'tc');
    const cupsFiles = split(u.cupsCred, 'cups');
    if (u.updateBytes > 0) {
      this.counters.firmwareOffered++;
      this.o.log.warn({ bytes: u.updateBytes, signatureBytes: u.signatureBytes }, 'CUPS offered a firmware update: not applied (pktfwd is updated with its package)');
    }
    const tcUpdate = u.tcUri !== null || tcFiles ? { uri: u.tcUri, files: tcFiles } : null;
    const cupsUpdate = u.cupsUri !== null || cupsFiles ? { uri: u.cupsUri, files: cupsFiles } : null;
    // Checked before anything is written: files that would stop the next start (exit 2) are never installed.
    let tcCreds: StationCredentials | null = null;
    try {
      if (tcUpdate) tcCreds = checkUpdate(this.o.dir, 'tc', tcUpdate);
      if (cupsUpdate) checkUpdate(this.o.dir, 'cups', cupsUpdate);
    } catch (err) {
      throw new CupsFailure(`answer unusable: what it would install is not usable: ${(err as Error).message}`);
    }
    const changed: string[] = [];
    const install = (cat: CredCategory, up: { uri: string | null; files: CredentialFiles | null }) => {
      try {
        installCredentials(this.o.dir, cat, up);
      } catch (err) {
        throw new CupsFailure(`could not write the new ${cat} files in ${this.o.dir}: ${(err as Error).message}`);
      }
      changed.push(...(up.uri !== null ? [`${cat}.uri`] : []), ...(up.files ? [`${cat} credentials`] : []));
    };
    if (tcUpdate) {
      install('tc', tcUpdate);
      // The LNS moves to them at once, whatever happens to the cups files next.
      this.counters.tcUpdates++;
      this.tcBackedUp = false;
      this.o.onTcCredentials(tcCreds!);
    }
    if (cupsUpdate) {
      install('cups', cupsUpdate);
      this.counters.cupsUpdates++;
      this.cupsBackedUp = false; // the new set becomes cups-bak once CUPS has answered it
    }
    this.failuresInRow = 0;
    this.lastError = null;
    this.state = 'idle';
    // The next attempt starts from the regular set again (Basics Station: cups_credset = SYS_CRED_REG after a good answer).
    this.set = '';
    if (changed.length === 0) {
      this.o.log.info({ nextInS: this.o.intervalS ?? CUPS_OK_INTERVAL_S }, 'CUPS: no updates');
      this.schedule(this.o.intervalS ?? CUPS_OK_INTERVAL_S);
      return;
    }
    this.counters.updates++;
    this.lastUpdate = changed.join(', ');
    const next = this.retryS();
    this.o.log.info({ updated: changed, dir: this.o.dir, nextInS: next }, 'CUPS: new files installed');
    // Asked again a minute later (Basics Station: CUPS_RESYNC_INTV after an update), with the new cups files if any.
    this.schedule(next);
  }

  private fail(reason: string, refused: boolean): void {
    if (this.state === 'stopped') return;
    this.counters.failures++;
    const from = this.set;
    // Basics Station: after a refusal, or once more than 6 attempts failed in a row, the next file set.
    if (refused || this.failuresInRow > CUPS_ROTATE_AFTER) this.set = this.usableSet(SETS[(SETS.indexOf(this.set) + 1) % SETS.length]!) ?? '';
    this.failuresInRow++;
    this.lastError = reason;
    this.state = 'idle';
    // While the LNS works, a failing CUPS is asked again at the regular interval only (Basics Station does the same).
    const retry = this.o.lnsConnected() ? this.o.intervalS ?? CUPS_OK_INTERVAL_S : this.retryS();
    this.o.log.error({ reason, retryInS: retry, set: setName(from), nextSet: setName(this.set) }, 'CUPS: asking failed');
    this.schedule(retry);
  }

  /** POSTs `body`; resolves with the status, the answer up to its update data, and the update bytes counted past that. */
  private post(url: string, creds: StationCredentials, body: string): Promise<{ status: number; head: Buffer; skipped: number }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const lib = u.protocol === 'https:' ? https : http;
      const req = lib.request(u, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...creds.headers },
        ...(u.protocol === 'https:' ? {
          ...(creds.trust !== null ? { ca: creds.trust } : {}),
          ...(creds.clientCert ? { cert: creds.clientCert.cert, key: creds.clientCert.key } : {}),
          rejectUnauthorized: true,
        } : {}),
        timeout: CUPS_TIMEOUT_MS,
      }, (res) => {
        let head = Buffer.alloc(0);
        let skipped = 0;
        let headEnd: number | null = null;
        res.on('data', (c: Buffer) => {
          if (res.statusCode !== 200) return; // a refusal's body is not read
          if (headEnd !== null) {
            skipped += c.length;
            return;
          }
          head = Buffer.concat([head, c]);
          headEnd = updateDataStart(head);
          if (headEnd !== null && head.length > headEnd) {
            // The firmware that follows is counted, not kept.
            skipped += head.length - headEnd;
            head = head.subarray(0, headEnd);
          } else if (headEnd === null && head.length > CUPS_MAX_HEAD_BYTES) {
            req.destroy(new Error(`answer's URIs and credentials exceed ${CUPS_MAX_HEAD_BYTES} bytes`));
          }
        });
        res.on('end', () => {
          if (this.request === req) this.request = null;
          resolve({ status: res.statusCode ?? 0, head, skipped });
        });
        res.on('error', reject);
      });
      this.request = req;
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${CUPS_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => {
        if (this.request === req) this.request = null;
        reject(err);
      });
      req.end(body);
    });
  }
}
