/**
 * The one error type of the config loader. Bad configuration is fatal at
 * start-up (the CLI exits 2 with the message), so it is thrown rather than
 * returned; the message is always a single line naming the file and the key.
 */

/** Longest quoted string shown in a message before it is cut. */
const MAX_SHOWN_CHARS = 60;

/**
 * A configuration value that cannot be used. `message` is exactly one line:
 * `<file>: <key>: expected <what>, got <value>`.
 */
export class ConfigError extends Error {
  /** Stable error code, shared by every config failure. */
  readonly code = 'ECONFIG';
  /** File the offending value came from, or the CLI option that set it (e.g. `--gateway-id`). */
  readonly file: string;
  /** Full dotted key (`SX1301_conf.chan_multiSF_3.if`), or a location such as `line 3 column 5`. */
  readonly key: string;
  /** What a valid value looks like. */
  readonly expected: string;

  /**
   * @param file origin of the value (file path or CLI option)
   * @param key dotted key or location
   * @param expected what would have been accepted
   * @param got the offending value, already rendered (see {@link describeValue})
   * @param message the whole line instead of the "expected ..., got ..." form (a file that is not ours at all)
   */
  constructor(file: string, key: string, expected: string, got: string, message?: string) {
    super(oneLine(message ?? `${file}: ${key}: expected ${expected}, got ${got}`));
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.expected = expected;
  }
}

/**
 * Renders a JSON value for an error message: numbers and booleans as
 * written, strings quoted (and cut when long), containers by kind, an absent
 * key as "nothing".
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const cut = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value;
    return JSON.stringify(cut);
  }
  return String(value);
}

/** Collapses any line breaks so a message can never span lines. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
