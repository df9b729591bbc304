/**
 * Issue 18 items 2 and 3 at the journal (src/uplink-journal.ts), on real
 * files: the corruption suite (truncated, bit-flipped inner record with a
 * good outer line, garbage, NUL tail, wrong shapes, duplicates, the earlier
 * format), and the failure modes (a full tmpfs, a read-only mount).
 * The same against the real process is in buffer-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JOURNAL_MAGIC, readJournalText, UplinkJournal, type JournalEntry } from '../src/uplink-journal.js';
import { UplinkBuffer } from '../src/uplink-buffer.js';
import { rec, rxpkText } from './helpers/journal.js';

function journal(n: number, from = 1): string {
  let t = `${JOURNAL_MAGIC}\n`;
  for (let i = from; i < from + n; i++) t += rec(['+', i, 1_000_000 + i, rxpkText(i)]);
  return t;
}

const seqs = (e: JournalEntry[]) => e.map((x) => x.seq);

describe('reading a damaged journal: every good record kept, every bad one counted by reason', () => {
  test('intact: all records, in seq order; removals honoured', () => {
    const t = journal(5) + rec(['-', 2, 4]);
    const r = readJournalText(t);
    assert.deepEqual(seqs(r.entries), [1, 3, 5]);
    assert.deepEqual(r.report.bad, {});
  });

  test('truncated mid-record (a torn last line) and a NUL-filled tail', () => {
    const full = journal(10);
    const torn = full.slice(0, full.length - 30);
    assert.deepEqual(readJournalText(torn).report.bad, { torn: 1 });
    assert.equal(readJournalText(torn).entries.length, 9);
    const nul = full + '\u0000'.repeat(4096);
    const r = readJournalText(nul);
    assert.equal(r.entries.length, 10);
    assert.deepEqual(r.report.bad, { nul: 1 });
  });

  test('one flipped character inside the rxpk text: caught by the CRC, and by the rxpk check when the CRC is recomputed', () => {
    const lines = journal(10).split('\n');
    lines[3] = lines[3]!.replace('\\"stat\\":1', '\\"stat\\":!');
    assert.ok(lines[3]!.includes('!'), 'the flip landed');
    const r = readJournalText(lines.join('\n'));
    assert.equal(r.entries.length, 9);
    assert.deepEqual(r.report.bad, { checksum: 1 });
    assert.equal(r.report.firstBad?.line, 4);
    // The case: outer record valid, inner rxpk text not JSON (a writer that had the CRC right).
    const bad = rxpkText(3).replace('"rssi":-60', '"rssi":-6O');
    const t = `${JOURNAL_MAGIC}\n${rec(['+', 1, 1, rxpkText(1)])}${rec(['+', 3, 3, bad])}${rec(['+', 4, 4, rxpkText(4)])}`;
    const s = readJournalText(t);
    assert.deepEqual(seqs(s.entries), [1, 4]);
    assert.deepEqual(s.report.bad, { rxpk: 1 });
    assert.match(s.report.firstBad!.detail, /not valid JSON/);
  });

  test('rxpk texts a strict server refuses are refused too: wrong types, a non-integer literal, a size mismatch, unpadded base64', () => {
    const variants = [
      rxpkText(1).replace('"tmst":1001', '"tmst":"1001"'),
      rxpkText(1).replace('"rssi":-60', '"rssi":-60.0'),
      rxpkText(1).replace('"size":8', '"size":9'),
      rxpkText(1).replace(/"data":"([^"]*)="/, '"data":"$1"').replace('"size":8', '"size":8'),
      '[1,2,3]',
      '{"tmst":1}',
    ];
    let t = `${JOURNAL_MAGIC}\n`;
    variants.forEach((v, i) => (t += rec(['+', i + 1, 1, v])));
    const r = readJournalText(t);
    assert.equal(r.entries.length, 0);
    assert.equal(r.report.bad.rxpk, variants.length);
  });

  test('garbage lines, wrong shapes, duplicates, oversized lines', () => {
    const t = journal(3)
      + 'hello world\n'
      + rec(['+', 'x', 1, rxpkText(9)])
      + rec(['+', 9, 1])
      + rec({ a: 1 } as unknown as unknown[])
      + rec(['?', 1])
      + rec(['+', 2, 5, rxpkText(2)])
      + rec(['-', -1])
      + `00000000 ${'x'.repeat(20_000)}\n`
      + rec(['+', 4, 1_000_004, rxpkText(4)]);
    const r = readJournalText(t);
    assert.deepEqual(seqs(r.entries), [1, 2, 3, 4]);
    assert.deepEqual(r.report.bad, { checksum: 2, shape: 5, duplicate: 1 });
  });

  test('the earlier whole-file format is read with the same rxpk check (the issue\'s file: one flipped character)', () => {
    const lines: string[] = [];
    for (let i = 1; i <= 600; i++) lines.push(JSON.stringify([1_000_000 + i, i, rxpkText(i)]));
    lines[299] = lines[299]!.replace('\\"freq\\":868.1', '\\"freq\\":868,1');
    const r = readJournalText(lines.join('\n'));
    assert.equal(r.report.legacy, true);
    assert.equal(r.entries.length, 599);
    assert.deepEqual(r.report.bad, { rxpk: 1 });
  });
});

describe('the journal on a real file', () => {
  test('changes are on disk when the call returns; reopening gives exactly what the buffer held; delivered ones are gone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-journal-'));
    const path = join(dir, 'uplinks.jsonl');
    const j = new UplinkJournal(path);
    const o = j.open();
    assert.equal(o.entries.length, 0);
    const b = new UplinkBuffer({ maxUplinks: 100, maxBytes: 1 << 20, maxAgeMs: 3_600_000 });
    b.attach(j, o.entries);
    b.push([1, 2, 3, 4, 5].map((i) => ({ seq: i, rxpk: rxpkText(i) })));
    b.remove([{ seq: 1, rxpk: '' }, { seq: 2, rxpk: '' }]);
    // No close, no sync: what a SIGKILL leaves.
    const r = readJournalText(readFileSync(path, 'utf8'));
    assert.deepEqual(seqs(r.entries), [3, 4, 5]);
    b.remove([3, 4, 5].map((seq) => ({ seq, rxpk: '' })));
    assert.equal(readFileSync(path, 'utf8'), `${JOURNAL_MAGIC}\n`, 'an empty buffer empties the file');
    b.push([{ seq: 6, rxpk: rxpkText(6) }]);
    j.close(() => b.entries());
    const again = new UplinkJournal(path).open();
    assert.deepEqual(seqs(again.entries), [6]);
    assert.deepEqual(readdirSync(dir), ['uplinks.jsonl'], 'no temporary file left');
  });

  test('compaction: a file over 1 MiB and twice what the buffer holds is rewritten to what it holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-journal-'));
    const path = join(dir, 'uplinks.jsonl');
    const j = new UplinkJournal(path);
    const b = new UplinkBuffer({ maxUplinks: 100_000, maxBytes: 1 << 30, maxAgeMs: 3_600_000 });
    b.attach(j, j.open().entries);
    let seq = 0;
    b.push([{ seq: ++seq, rxpk: rxpkText(seq) }]); // one that stays
    for (let round = 0; round < 30; round++) {
      const batch = Array.from({ length: 200 }, () => ({ seq: ++seq, rxpk: rxpkText(seq) }));
      b.push(batch);
      b.remove(batch);
    }
    assert.ok(j.fileBytes > 1 << 20, `${j.fileBytes} bytes before`);
    j.tick(() => b.entries(), b.journalBytes);
    assert.ok(j.fileBytes < 1000, `${j.fileBytes} bytes after`);
    assert.deepEqual(seqs(readJournalText(readFileSync(path, 'utf8')).entries), [1]);
    assert.equal(j.counters.rewrites, 2);
  });
});

/** Runs `fn` with a mounted directory (tmpfs or read-only bind), unmounting after. Needs root (as CI runs). */
function withMount(kind: 'tmpfs' | 'ro', setup: (dir: string) => void, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), `pktfwd-${kind}-`));
  if (kind === 'tmpfs') execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  setup(dir);
  if (kind === 'ro') {
    execFileSync('mount', ['--bind', dir, dir]);
    execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
  }
  try {
    fn(dir);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const canMount = process.getuid?.() === 0;

describe('failure modes', { skip: canMount ? false : 'needs root to mount a tmpfs and a read-only bind (CI runs as root)' }, () => {
  test('full disk: the file keeps every whole record, no torn line, no .tmp; memory carries on; freed space → rewritten with everything', () => {
    withMount('tmpfs', () => {}, (dir) => {
      const path = join(dir, 'uplinks.jsonl');
      const j = new UplinkJournal(path);
      const b = new UplinkBuffer({ maxUplinks: 10_000, maxBytes: 1 << 30, maxAgeMs: 3_600_000 });
      b.attach(j, j.open().entries);
      writeFileSync(join(dir, 'filler'), Buffer.alloc(40 * 1024));
      let seq = 0;
      while (j.state.ok && seq < 2000) b.push([{ seq: ++seq, rxpk: rxpkText(seq) }]);
      assert.equal(j.state.ok, false, 'the disk filled');
      assert.match(j.state.ok ? '' : j.state.reason, /^ENOSPC/);
      for (let k = 0; k < 20; k++) b.push([{ seq: ++seq, rxpk: rxpkText(seq) }]); // in memory only
      const onDisk = readJournalText(readFileSync(path, 'utf8'));
      assert.deepEqual(onDisk.report.bad, {}, 'no torn record');
      assert.deepEqual(seqs(onDisk.entries), Array.from({ length: onDisk.entries.length }, (_, i) => i + 1), 'a prefix of what was pushed');
      assert.ok(!existsSync(`${path}.tmp`));
      // A removal cannot be recorded while full: the file is emptied rather than left to replay delivered uplinks.
      b.remove([{ seq: 1, rxpk: '' }]);
      assert.equal(readJournalText(readFileSync(path, 'utf8')).entries.length, 0);
      // Space comes back: the next tick rewrites everything the buffer holds.
      rmSync(join(dir, 'filler'));
      const t0 = performance.now();
      while (!j.state.ok && performance.now() - t0 < 3000) {
        execFileSync('sleep', ['0.2']);
        j.tick(() => b.entries(), b.journalBytes);
      }
      assert.equal(j.state.ok, true, 'recording again');
      const back = readJournalText(readFileSync(path, 'utf8'));
      assert.deepEqual(seqs(back.entries), seqs(b.entries()));
      assert.equal(back.entries.length, seq - 1);
      j.close(() => b.entries());
    });
  });

  test('read-only filesystem: the file is not replayed (nothing sent, nothing changed), memory-only buffering, the reason in the state', () => {
    const before = journal(30);
    withMount('ro', (dir) => writeFileSync(join(dir, 'uplinks.jsonl'), before), (dir) => {
      const path = join(dir, 'uplinks.jsonl');
      for (let run = 0; run < 3; run++) {
        const j = new UplinkJournal(path);
        const o = j.open();
        assert.equal(o.entries.length, 0, 'nothing handed over for sending');
        assert.equal(o.held, 30);
        assert.match(j.state.ok ? '' : j.state.reason, /^EROFS/);
        const b = new UplinkBuffer({ maxUplinks: 100, maxBytes: 1 << 20, maxAgeMs: 3_600_000 });
        b.attach(j, o.entries);
        b.push([{ seq: 100, rxpk: rxpkText(100) }]);
        b.remove([{ seq: 100, rxpk: '' }]);
        j.close(() => b.entries());
        assert.equal(readFileSync(path, 'utf8'), before, 'the file is as it was');
      }
    });
  });
});

