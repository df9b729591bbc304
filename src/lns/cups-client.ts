/**
 * CUPS (Basics Station's Configuration and Update Server) for one station
 * directory: asks `<cups.uri>/update-info` at start, every
 * `intervalS` (24 h, CUPS_OKSYNC_INTV) after a good answer, 60 s after a
 * failure (CUPS_RESYNC_INTV), and soon after the LNS refused this gateway;
 * installs new URIs and credentials for the LNS (tc.*) and for itself
 * (cups.*), and hands the LNS its new credentials. After 6 failures in a row,
 * or a refusal, the next attempt uses the next set of CUPS files: the regular
 * one, `cups-bak` (the copy made before the last update), `cups-boot` (the
 * factory set) [Basics Station src/cups.c: FAIL_CNT_THRES 6, credential set
 * rotation]. A firmware update segment is counted and not applied: pktfwd
 * is updated with its package.
 */
import { accessSync, constants } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import type { Logger } from 'pino';
import { guard } from '../../hal/index.js';
import { checkUpdate, installCredentials, parseUpdateInfo, rollForward, splitCredentials, CUPS_MAX_ANSWER_BYTES, type CredentialFiles } from './cups-protocol.js';
import { describeSocketError } from './socket-errors.js';
import { credentialCrc, hasCredentialSet, readCredentialSet, StationFileError, type CredSet, type StationCredentials } from './station-files.js';

/** After a good answer, s (CUPS_OKSYNC_INTV 24 h). */
export const CUPS_OK_INTERVAL_S = 86_400;
/** After a failure, s (CUPS_RESYNC_INTV 1 min). */
export const CUPS_RETRY_S = 60;
/** Failures in a row after which the next file set is tried (FAIL_CNT_THRES). */
export const CUPS_ROTATE_AFTER = 6;
/** The whole exchange may take this long, ms (CUPS_CONN_TIMEOUT 60 s). */
export const CUPS_TIMEOUT_MS = 60_000;

const SETS: readonly CredSet[] = ['', '-bak', '-boot'];

export interface CupsClientOptions {
  dir: string;
  /** The router id (id6 of the gateway EUI), as in LNS discovery. */
  router: string;
  version: string;
  log: Logger;
  /** New tc.* files were installed: the LNS reconnects with these. */
  onTcCredentials: (creds: StationCredentials) => void;
  onInternalError: (handler: string) => void;
  /** Overrides (tests): the regular interval and the retry delay, s. */
  intervalS?: number;
  retryS?: number;
}

export type CupsState = 'idle' | 'asking' | 'waiting' | 'stopped';

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
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.request?.destroy();
    this.request = null;
  }

  /** The LNS refused this gateway or keeps failing: ask CUPS soon (at most once a retry period). */
  lnsRefused(): void {
    if (this.state === 'stopped' || this.state === 'asking') return;
    const since = this.lastCheckAtMs === null ? Infinity : (Date.now() - this.lastCheckAtMs) / 1000;
    const inS = Math.max(0, (this.o.retryS ?? CUPS_RETRY_S) - since);
    // Only ever brings the next check forward.
    if (this.dueAtMs !== null && this.dueAtMs <= Date.now() + inS * 1000) return;
    this.o.log.info({ inS: Math.round(inS) }, 'CUPS: the LNS refused this gateway or kept failing; asking CUPS for new credentials');
    this.schedule(inS);
  }

  status(): Record<string, unknown> {
    let uri: string | null = null;
    try {
      uri = readCredentialSet(this.o.dir, 'cups', this.set).uri;
    } catch {
      uri = null;
    }
    return {
      uri, set: this.set === '' ? 'regular' : this.set.slice(1), state: this.state, lastError: this.lastError, lastUpdate: this.lastUpdate,
      lastCheckAgeS: this.lastCheckAtMs === null ? null : Math.round((Date.now() - this.lastCheckAtMs) / 100) / 10, counters: { ...this.counters },
    };
  }

  private schedule(delayS: number): void {
    if (this.state === 'stopped') return;
    if (this.timer) clearTimeout(this.timer);
    this.state = this.state === 'asking' ? 'asking' : 'waiting';
    this.dueAtMs = Date.now() + delayS * 1000;
    this.timer = setTimeout(guard(this.o.log, this.o.onInternalError, 'cups timer', () => {
      this.timer = null;
      this.dueAtMs = null;
      void this.ask();
    }), delayS * 1000);
    this.timer.unref?.();
  }

  /** The next set that has a cups.uri, from the current one on. */
  private usableSet(): CredSet | null {
    for (let i = 0; i < SETS.length; i++) {
      const s = SETS[(SETS.indexOf(this.set) + i) % SETS.length]!;
      if (hasCredentialSet(this.o.dir, 'cups', s)) return s;
    }
    return null;
  }

  private async ask(): Promise<void> {
    if (this.state === 'stopped') return;
    const set = this.usableSet();
    if (set === null) {
      this.fail(`no cups.uri in ${this.o.dir}`, false);
      return;
    }
    this.set = set;
    this.state = 'asking';
    this.counters.requests++;
    this.lastCheckAtMs = Date.now();
    let creds: StationCredentials;
    try {
      creds = readCredentialSet(this.o.dir, 'cups', set);
    } catch (err) {
      this.fail(err instanceof StationFileError ? err.message : (err as Error).message, true);
      return;
    }
    const tcUri = hasCredentialSet(this.o.dir, 'tc') ? safeUri(this.o.dir) : '';
    const body = JSON.stringify({
      router: this.o.router, cupsUri: readUriOrEmpty(this.o.dir), tcUri,
      cupsCredCrc: credentialCrc(this.o.dir, 'cups'), tcCredCrc: credentialCrc(this.o.dir, 'tc'),
      station: `pktfwd ${this.o.version}`, model: 'pktfwd', package: this.o.version, keys: [],
    });
    const url = `${creds.uri.replace(/\/+$/, '')}/update-info`;
    this.o.log.info({ uri: url, set: set || 'regular' }, 'CUPS: asking for updates');
    let answer: { status: number; body: Buffer };
    try {
      answer = await this.post(url, creds, body);
    } catch (err) {
      this.fail(`${url}: ${describeSocketError(err as Error & { code?: string }, 'cups')}`, false);
      return;
    } finally {
      this.request = null;
    }
    if ((this.state as CupsState) === 'stopped') return;
    if (answer.status !== 200) {
      const hint = answer.status === 401 || answer.status === 403 ? ' (the credentials in cups.key were refused)' : answer.status === 404 ? ' (CUPS does not know this router)' : '';
      this.fail(`${url}: HTTP ${answer.status}${hint}`, true);
      return;
    }
    this.apply(answer.body);
  }

  private apply(body: Buffer): void {
    const r = parseUpdateInfo(body);
    if (!r.ok) {
      this.fail(`answer unusable: ${r.reason}`, false);
      return;
    }
    const u = r.value;
    const split = (b: Buffer | null, what: string): CredentialFiles | null | string => {
      if (!b) return null;
      const s = splitCredentials(b);
      return s.ok ? s.value : `${what} credentials unusable: ${s.reason}`;
    };
    const tcFiles = split(u.tcCred, 'tc');
    const cupsFiles = split(u.cupsCred, 'cups');
    if (typeof tcFiles === 'string' || typeof cupsFiles === 'string') {
      this.fail(`answer unusable: ${typeof tcFiles === 'string' ? tcFiles : cupsFiles as string}`, false);
      return;
    }
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
      this.fail(`answer unusable: what it would install is not usable: ${(err as Error).message}`, false);
      return;
    }
    const changed: string[] = [];
    try {
      if (u.tcUri !== null || tcFiles) {
        installCredentials(this.o.dir, 'tc', { uri: u.tcUri, files: tcFiles });
        changed.push(...(u.tcUri !== null ? ['tc.uri'] : []), ...(tcFiles ? ['tc credentials'] : []));
      }
      if (u.cupsUri !== null || cupsFiles) {
        installCredentials(this.o.dir, 'cups', { uri: u.cupsUri, files: cupsFiles });
        changed.push(...(u.cupsUri !== null ? ['cups.uri'] : []), ...(cupsFiles ? ['cups credentials'] : []));
      }
    } catch (err) {
      this.fail(`could not write the new files in ${this.o.dir}: ${(err as Error).message}`, false);
      return;
    }
    this.failuresInRow = 0;
    this.lastError = null;
    this.set = '';
    this.state = 'idle';
    if (changed.length === 0) {
      this.o.log.info({ nextInS: this.o.intervalS ?? CUPS_OK_INTERVAL_S }, 'CUPS: no updates');
      this.schedule(this.o.intervalS ?? CUPS_OK_INTERVAL_S);
      return;
    }
    this.counters.updates++;
    this.lastUpdate = changed.join(', ');
    this.o.log.info({ updated: changed, dir: this.o.dir }, 'CUPS: new files installed');
    if (tcCreds) {
      this.counters.tcUpdates++;
      this.o.onTcCredentials(tcCreds);
    }
    if (u.cupsUri !== null || cupsFiles) {
      // New CUPS address or credentials: ask the new one right away (Basics Station does too).
      this.counters.cupsUpdates++;
      this.schedule(0);
    } else this.schedule(this.o.intervalS ?? CUPS_OK_INTERVAL_S);
  }

  private fail(reason: string, refused: boolean): void {
    this.counters.failures++;
    this.failuresInRow++;
    this.lastError = reason;
    this.state = 'idle';
    const retry = this.o.retryS ?? CUPS_RETRY_S;
    const from = this.set;
    if (refused || this.failuresInRow > CUPS_ROTATE_AFTER) {
      this.set = SETS[(SETS.indexOf(this.set) + 1) % SETS.length]!;
      this.set = this.usableSet() ?? '';
    }
    this.o.log.error({ reason, retryInS: retry, set: from || 'regular', nextSet: this.set || 'regular' }, 'CUPS: asking failed');
    this.schedule(retry);
  }

  private post(url: string, creds: StationCredentials, body: string): Promise<{ status: number; body: Buffer }> {
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
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > CUPS_MAX_ANSWER_BYTES) {
            req.destroy(new Error(`answer larger than ${CUPS_MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      this.request = req;
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${CUPS_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function readUriOrEmpty(dir: string): string {
  try {
    return readCredentialSet(dir, 'cups', '').uri;
  } catch {
    return '';
  }
}

function safeUri(dir: string): string {
  try {
    return readCredentialSet(dir, 'tc', '').uri;
  } catch {
    return '';
  }
}
