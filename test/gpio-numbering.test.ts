import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { describeGpioAccessError, ENOGPIOSYSFS, GPIO_GROUP } from '../hal/gpio/gpio-errors.js';
import { bcmToSysfs, listGpioChips, type GpioChipInfo } from '../hal/gpio/sysfs-numbering.js';

// Chip tables from sx127x.md §15: Pi 4 on 6.6+ has gpiochip512 "pinctrl-bcm2711"
// (58 lines) and gpiochip570 "raspberrypi-exp-gpio" (8); a Pi 5 has gpiochip571
// "pinctrl-rp1" (54) and gpiochip512 "gpio-brcmstb@107d508500" (32).
type ChipSpec = { base: number; ngpio: number; label: string };

const scratch = mkdtempSync(join(tmpdir(), 'pktfwd-gpio-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let treeCount = 0;
/** A fake /sys/class/gpio with the export files and one directory per chip. */
function fakeSysfs(chips: ChipSpec[]): string {
  const root = join(scratch, `tree${treeCount++}`);
  mkdirSync(root);
  writeFileSync(join(root, 'export'), '');
  writeFileSync(join(root, 'unexport'), '');
  for (const c of chips) {
    const dir = join(root, `gpiochip${c.base}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'base'), `${c.base}\n`);
    writeFileSync(join(dir, 'ngpio'), `${c.ngpio}\n`);
    writeFileSync(join(dir, 'label'), `${c.label}\n`);
  }
  return root;
}

// Pre-6.6 the SoC chip sat at base 0 [sx127x.md §15]; the expander's base 504 here is
// illustrative only (not from the reference): it must simply not be picked.
const pi4Kernel61: ChipSpec[] = [
  { base: 0, ngpio: 58, label: 'pinctrl-bcm2711' },
  { base: 504, ngpio: 8, label: 'raspberrypi-exp-gpio' },
];
const pi4Kernel66: ChipSpec[] = [
  { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
  { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
];
const pi5: ChipSpec[] = [
  { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
  { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
];

function sysfsOf(bcm: number, chips: GpioChipInfo[]): number {
  const r = bcmToSysfs(bcm, chips);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.sysfs;
}

function reasonOf(bcm: number, chips: GpioChipInfo[]): string {
  const r = bcmToSysfs(bcm, chips);
  assert.equal(r.ok, false, `BCM${bcm} should be refused`);
  return r.ok ? '' : r.reason;
}

test('listGpioChips reads base, ngpio and label of every chip, sorted by base, ignoring export files', () => {
  const chips = listGpioChips(fakeSysfs([pi4Kernel66[1]!, pi4Kernel66[0]!]));
  assert.deepEqual(chips, [
    { name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
    { name: 'gpiochip570', base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ]);
});

test('chip directories reached through symlinks (as in real sysfs) are read', () => {
  const root = fakeSysfs([]);
  const real = join(scratch, `devices${treeCount++}`, 'gpiochip571');
  mkdirSync(real, { recursive: true });
  writeFileSync(join(real, 'base'), '571\n');
  writeFileSync(join(real, 'ngpio'), '54\n');
  writeFileSync(join(real, 'label'), 'pinctrl-rp1\n');
  symlinkSync(real, join(root, 'gpiochip571'));
  assert.deepEqual(listGpioChips(root), [{ name: 'gpiochip571', base: 571, ngpio: 54, label: 'pinctrl-rp1' }]);
});

test('a chip with a missing or malformed attribute is skipped, the others still listed', () => {
  const root = fakeSysfs(pi4Kernel66);
  mkdirSync(join(root, 'gpiochip600'));
  writeFileSync(join(root, 'gpiochip600', 'label'), 'half-written\n'); // no base, no ngpio
  mkdirSync(join(root, 'gpiochip700'));
  writeFileSync(join(root, 'gpiochip700', 'base'), 'seven hundred\n');
  writeFileSync(join(root, 'gpiochip700', 'ngpio'), '8\n');
  writeFileSync(join(root, 'gpiochip700', 'label'), 'garbled\n');
  writeFileSync(join(root, 'gpiochip800'), 'a file, not a directory');
  assert.deepEqual(listGpioChips(root).map((c) => c.name), ['gpiochip512', 'gpiochip570']);
});

test('an empty sysfs root lists no chips and BCM lookup explains that none were seen', () => {
  const chips = listGpioChips(fakeSysfs([]));
  assert.deepEqual(chips, []);
  assert.match(reasonOf(17, chips), /no Raspberry Pi GPIO chip found.*saw no GPIO chips at all/);
});

test('a missing sysfs root throws ENOGPIOSYSFS with a message saying what to do', () => {
  const missing = join(scratch, 'no-such-dir');
  assert.throws(() => listGpioChips(missing), (err: Error & { code?: string }) => {
    assert.equal(err.code, ENOGPIOSYSFS);
    assert.match(err.message, /sysfs GPIO is not available/);
    assert.ok(err.message.includes(missing));
    assert.match(err.message, /CONFIG_GPIO_SYSFS/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  const notADir = join(scratch, 'plain-file');
  writeFileSync(notADir, '');
  assert.throws(() => listGpioChips(notADir), { code: ENOGPIOSYSFS });
});

test('Pi 4 on kernel 6.1: the SoC chip is at base 0, so sysfs = BCM', () => {
  const chips = listGpioChips(fakeSysfs(pi4Kernel61));
  assert.equal(sysfsOf(17, chips), 17);
  assert.equal(sysfsOf(25, chips), 25);
  assert.equal(sysfsOf(0, chips), 0);
});

test('Pi 4 on kernel 6.6: BCM17 is 529 and BCM25 is 537 (sx127x.md §15), not on the expander', () => {
  const chips = listGpioChips(fakeSysfs(pi4Kernel66));
  assert.equal(sysfsOf(17, chips), 529);
  assert.equal(sysfsOf(25, chips), 537);
  assert.equal(sysfsOf(4, chips), 516);
  const r = bcmToSysfs(27, chips);
  assert.ok(r.ok);
  assert.equal(r.chip.label, 'pinctrl-bcm2711');
  assert.equal(r.sysfs, 539);
});

test('Pi 5: the RP1 chip at 571 is used, not the brcmstb chip at 512: BCM17 is 588, BCM25 is 596', () => {
  const chips = listGpioChips(fakeSysfs(pi5));
  assert.equal(sysfsOf(17, chips), 588);
  assert.equal(sysfsOf(25, chips), 596);
  assert.equal(sysfsOf(0, chips), 571);
});

test('Pi 0-3 label pinctrl-bcm2835 is recognised at any base', () => {
  const chips = listGpioChips(fakeSysfs([{ base: 512, ngpio: 54, label: 'pinctrl-bcm2835' }]));
  assert.equal(sysfsOf(17, chips), 529);
});

test('unknown label: a base-0 chip with >= 54 lines is the legacy SoC chip; a smaller one is not', () => {
  const legacy = listGpioChips(fakeSysfs([{ base: 0, ngpio: 54, label: 'some-old-soc' }]));
  assert.equal(sysfsOf(25, legacy), 25);
  const small = listGpioChips(fakeSysfs([{ base: 0, ngpio: 53, label: 'some-old-soc' }]));
  assert.match(reasonOf(25, small), /base 0 with at least 54 lines/);
});

test('unknown board: the reason names the labels looked for and every chip seen', () => {
  const chips = listGpioChips(fakeSysfs([
    { base: 512, ngpio: 16, label: 'gpio-mockup-A' },
    { base: 600, ngpio: 8, label: 'pca9535' },
  ]));
  const reason = reasonOf(17, chips);
  for (const label of ['pinctrl-bcm2835', 'pinctrl-bcm2711', 'pinctrl-rp1']) assert.ok(reason.includes(label), label);
  assert.ok(reason.includes('gpiochip512 "gpio-mockup-A" base 512, 16 lines'), reason);
  assert.ok(reason.includes('gpiochip600 "pca9535" base 600, 8 lines'), reason);
});

test('out-of-range and malformed BCM numbers are refused with a reason', () => {
  const chips = listGpioChips(fakeSysfs(pi4Kernel66));
  assert.match(reasonOf(28, chips), /BCM28 is not on the 40-pin header \(BCM0\.\.BCM27\).*physical pin/);
  assert.match(reasonOf(40, chips), /not on the 40-pin header/);
  assert.match(reasonOf(-1, chips), /BCM-1 is not a GPIO number/);
  assert.match(reasonOf(1.5, chips), /not a GPIO number/);
  assert.match(reasonOf(Number.NaN, chips), /not a GPIO number/);
  // A header number beyond a chip's line count (a small SoC chip) is refused too.
  const tiny = listGpioChips(fakeSysfs([{ base: 512, ngpio: 20, label: 'pinctrl-bcm2835' }]));
  assert.equal(sysfsOf(19, tiny), 531);
  assert.match(reasonOf(20, tiny), /BCM20 is beyond gpiochip512 "pinctrl-bcm2835" base 512, 20 lines/);
});

const sysErr = (code: string, path?: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something, open '${path ?? ''}'\nsecond line`), { code, ...(path ? { path } : {}) });

test('EACCES/EPERM name the pin and the gpio group with the usermod command, on one line', () => {
  for (const code of ['EACCES', 'EPERM']) {
    const msg = describeGpioAccessError(sysErr(code, '/sys/class/gpio/export'), 'reset', 17, 529);
    assert.ok(msg.startsWith('reset pin BCM17 (sysfs 529): permission denied'), msg);
    assert.ok(msg.includes(code), msg);
    assert.ok(msg.includes('/sys/class/gpio/export'), msg);
    assert.ok(msg.includes(`${GPIO_GROUP} group`), msg);
    assert.ok(msg.includes('sudo usermod -aG gpio $USER'), msg);
    assert.match(msg, /log out and in again/);
    assert.doesNotMatch(msg, /\n/);
  }
  assert.equal(GPIO_GROUP, 'gpio');
});

test('EBUSY says another program or driver holds the pin', () => {
  const msg = describeGpioAccessError(sysErr('EBUSY'), 'cs', 25, 537);
  assert.ok(msg.startsWith('cs pin BCM25 (sysfs 537): busy (EBUSY)'), msg);
  assert.match(msg, /another program or a kernel driver/);
  assert.doesNotMatch(msg, /usermod/);
  assert.doesNotMatch(msg, /\n/);
});

test('ENOENT/EINVAL say the sysfs number does not exist on this kernel', () => {
  for (const code of ['ENOENT', 'EINVAL']) {
    const msg = describeGpioAccessError(sysErr(code, '/sys/class/gpio/gpio17/direction'), 'dio0', 4, 17);
    assert.ok(msg.startsWith('dio0 pin BCM4 (sysfs 17): GPIO 17 does not exist on this kernel'), msg);
    assert.ok(msg.includes(code), msg);
    assert.doesNotMatch(msg, /usermod/);
    assert.doesNotMatch(msg, /\n/);
  }
});

test('other failures keep their code and message, flattened to one line; a label ending in "pin" is not doubled', () => {
  const msg = describeGpioAccessError(sysErr('EIO'), 'reset pin', 17, 588);
  assert.ok(msg.startsWith('reset pin BCM17 (sysfs 588): EIO: EIO: something'), msg);
  assert.match(msg, /second line/);
  assert.doesNotMatch(msg, /\n/);
  assert.equal(describeGpioAccessError('boom', 'dio0', 4, 516), 'dio0 pin BCM4 (sysfs 516): boom');
});
