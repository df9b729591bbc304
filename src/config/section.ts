/**
 * Typed reading of one JSON object of the config, with the key rules, the
 * "one table per section" helper and unknown-key warnings.
 */
import { ConfigError, describeValue } from './errors.js';
import { isJsonObject, joinPath, type JsonObject, type OriginMap } from './merge.js';

/** Returned by a rule that does not accept a value. */
export const INVALID: unique symbol = Symbol('invalid');

/** What a key accepts: a one-phrase description and a parser (which may normalise). */
export interface Rule<T> {
  /** Phrase completing "expected ...", e.g. "an integer 1..65535". */
  readonly expected: string;
  /** The accepted value (possibly normalised), or INVALID. */
  parse(value: unknown): T | typeof INVALID;
}

/** A JSON boolean (PF4 takes only a JSON boolean for its flags). */
export const bool: Rule<boolean> = {
  expected: 'true or false',
  parse: (v) => (typeof v === 'boolean' ? v : INVALID),
};

/** An integer in [min, max]. */
export function int(min: number, max: number, expected = `an integer ${min}..${max}`): Rule<number> {
  return { expected, parse: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : INVALID) };
}

/** A finite number in [min, max]. */
export function num(min: number, max: number, expected = `a number ${min}..${max}`): Rule<number> {
  return { expected, parse: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : INVALID) };
}

/** One of a few numbers. */
export function oneOf<T extends number | string>(values: readonly T[], expected = `one of ${values.join(', ')}`): Rule<T> {
  return { expected, parse: (v) => (values.includes(v as T) ? (v as T) : INVALID) };
}

/** A string accepted (and possibly normalised) by `convert`, which returns undefined to refuse. */
export function str(expected: string, convert: (s: string) => string | undefined = (s) => s): Rule<string> {
  return {
    expected,
    parse: (v) => {
      if (typeof v !== 'string') return INVALID;
      return convert(v) ?? INVALID;
    },
  };
}

/** `rule`, or JSON null (kept as null). */
export function nullable<T>(rule: Rule<T>): Rule<T | null> {
  return { expected: `${rule.expected} or null`, parse: (v) => (v === null ? null : rule.parse(v)) };
}

/** One key of a section: its JSON name, rule, default and a one-line doc. */
export interface KeySpec<T> {
  /** Key as spelled in the JSON file. */
  readonly key: string;
  readonly rule: Rule<T>;
  /** Value used when the key is absent. */
  readonly default: T;
  /** One line: what it does, unit, source of the default. */
  readonly doc: string;
}

/** A table mapping every property of `T` to the key that fills it. */
export type KeyTable<T> = { readonly [P in keyof T]: KeySpec<T[P]> };

/** Where warnings go and where values came from, shared by all sections of one parse. */
export interface ParseContext {
  readonly origins: OriginMap;
  readonly warnings: string[];
}

/**
 * Reader over one JSON object at a dotted path. Every key it reads becomes
 * "known"; `warnUnknown()` reports the rest. An absent object reads as empty.
 */
export class Section {
  private readonly seen = new Set<string>();

  /**
   * @param ctx shared parse context
   * @param path dotted path of this object ('' for the document root)
   * @param obj the object, or undefined when absent
   */
  constructor(
    private readonly ctx: ParseContext,
    readonly path: string,
    private readonly obj: JsonObject | undefined,
  ) {}

  /** Whether the key is present (even as null). */
  has(key: string): boolean {
    return this.obj !== undefined && Object.hasOwn(this.obj, key);
  }

  /** The raw value (undefined when absent); marks the key known. */
  raw(key: string): unknown {
    this.seen.add(key);
    return this.has(key) ? this.obj![key] : undefined;
  }

  /** The value of `key` checked by `rule`, or `dflt` when absent. */
  get<T>(key: string, rule: Rule<T>, dflt: T): T {
    const v = this.raw(key);
    if (v === undefined) return dflt;
    const parsed = rule.parse(v);
    if (parsed === INVALID) this.fail(key, rule.expected, v);
    return parsed;
  }

  /** The value of `key` checked by `rule`; absent is an error. */
  require<T>(key: string, rule: Rule<T>): T {
    const v = this.raw(key);
    const parsed = v === undefined ? INVALID : rule.parse(v);
    if (parsed === INVALID) this.fail(key, rule.expected, v);
    return parsed;
  }

  /** Reads every key of a table. */
  table<T>(table: KeyTable<T>): T {
    const out = {} as T;
    for (const prop of Object.keys(table) as (keyof T)[]) {
      const spec = table[prop];
      out[prop] = this.get(spec.key, spec.rule, spec.default);
    }
    return out;
  }

  /** Reads every key of a table and warns about the others (a section that is only a table). */
  tableOnly<T>(table: KeyTable<T>): T {
    const out = this.table(table);
    this.warnUnknown();
    return out;
  }

  /** The nested object at `key` as a Section (empty when absent); a non-object is an error. */
  child(key: string): Section {
    const v = this.raw(key);
    if (v !== undefined && !isJsonObject(v)) this.fail(key, 'an object', v);
    return new Section(this.ctx, joinPath(this.path, key), v);
  }

  /** The array at `key` as one Section per element (each must be an object); absent is []. */
  items(key: string): Section[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, 'an array of objects', v);
    return v.map((el, i) => {
      const path = `${joinPath(this.path, key)}[${i}]`;
      if (!isJsonObject(el)) throw new ConfigError(this.ctx.origins.of(joinPath(this.path, key)), path, 'an object', describeValue(el));
      return new Section(this.ctx, path, el);
    });
  }

  /** Marks keys as known without reading them (accepted and ignored). */
  known(...keys: string[]): void {
    for (const k of keys) this.seen.add(k);
  }

  /** Keys present in the object. */
  keys(): string[] {
    return this.obj === undefined ? [] : Object.keys(this.obj);
  }

  /** The file (or CLI option) a key of this section came from; for an absent key, the first file read. */
  originOf(key: string): string {
    return this.has(key) ? this.ctx.origins.of(this.pathOf(key)) : this.ctx.origins.root;
  }

  /** Dotted path of a key of this section. */
  pathOf(key: string): string {
    return joinPath(this.path, key);
  }

  /** Throws a ConfigError for `key`, naming the file (or CLI option) its value came from. */
  fail(key: string, expected: string, value: unknown): never {
    const path = this.pathOf(key);
    throw new ConfigError(this.ctx.origins.of(path), path, expected, describeValue(value));
  }

  /** Adds a warning about `key` (a value that works but will hurt), naming its file. */
  warn(key: string, text: string): void {
    const path = this.pathOf(key);
    this.ctx.warnings.push(`${this.ctx.origins.of(path)}: ${path}: ${text}`);
  }

  /** Adds one warning per present key that was never read; `notes` gives a specific reason per key. */
  warnUnknown(notes: Record<string, string> = {}): void {
    for (const key of this.keys()) {
      if (this.seen.has(key)) continue;
      const path = this.pathOf(key);
      const why = Object.hasOwn(notes, key) ? notes[key] : 'unknown key, ignored';
      this.ctx.warnings.push(`${this.ctx.origins.of(path)}: ${path}: ${why}`);
    }
  }
}
