/**
 * Merging global_conf.json with local_conf.json while remembering where
 * every value came from, so an error can name the file that holds it.
 *
 * Merge rule (our choice; PF4 only overwrites whole sections' present keys):
 * objects merge recursively, so a local `{"SX1301_conf":{"radio_0":{"freq":867600000}}}`
 * changes only that one frequency; arrays and primitives replace.
 */

/** A JSON object as parsed. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Which source (file path or CLI option) set each dotted key. A key that was
 * never set itself (an absent key, or a leaf inside a replaced object)
 * belongs to its nearest recorded ancestor.
 */
export class OriginMap {
  private readonly byPath = new Map<string, string>();

  /** @param fallback source named for keys with no recorded ancestor (the global file) */
  constructor(private readonly fallback: string) {}

  /** The first document (the global file). */
  get root(): string {
    return this.fallback;
  }

  /** Records `source` for `path` and forgets anything recorded below it (it was replaced). */
  set(path: string, source: string): void {
    const prefix = `${path}.`;
    for (const k of this.byPath.keys()) if (k.startsWith(prefix)) this.byPath.delete(k);
    this.byPath.set(path, source);
  }

  /** Source of the value at `path`, or of its nearest recorded ancestor. */
  of(path: string): string {
    let p = path;
    for (;;) {
      const hit = this.byPath.get(p);
      if (hit !== undefined) return hit;
      const dot = p.lastIndexOf('.');
      if (dot < 0) return this.fallback;
      p = p.slice(0, dot);
    }
  }
}

/** Joins a parent dotted path and a key. */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * Merges `src` (from `source`) into `target` in place, recording origins.
 * Values are deep-copied so the caller's documents are never aliased.
 */
export function mergeInto(target: JsonObject, src: JsonObject, source: string, origins: OriginMap, path = ''): void {
  for (const key of Object.keys(src)) {
    const p = joinPath(path, key);
    const sv = src[key];
    const tv = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isJsonObject(sv) && isJsonObject(tv)) {
      mergeInto(tv, sv, source, origins, p);
    } else {
      setOwn(target, key, deepCopy(sv));
      origins.set(p, source);
    }
  }
}

/**
 * Sets `value` at the dotted `path` of `root`, creating missing objects on
 * the way, and records `source` as its origin. If a parent on the path holds
 * a non-object, nothing is set.
 */
export function setPath(root: JsonObject, path: string, value: unknown, source: string, origins: OriginMap): void {
  const keys = path.split('.');
  let obj = root;
  let walked = '';
  for (const key of keys.slice(0, -1)) {
    walked = joinPath(walked, key);
    const next = Object.hasOwn(obj, key) ? obj[key] : undefined;
    if (isJsonObject(next)) {
      obj = next;
    } else if (next !== undefined) {
      // Leave a non-object in place: validation then reports it against its own file.
      return;
    } else {
      const created: JsonObject = {};
      setOwn(obj, key, created);
      origins.set(walked, source);
      obj = created;
    }
  }
  setOwn(obj, keys[keys.length - 1]!, value);
  origins.set(path, source);
}

/** Plain assignment would call the `__proto__` setter for a key of that name; define it instead. */
function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Copies a JSON value (JSON.parse re-creates `__proto__` keys as own properties). */
function deepCopy(v: unknown): unknown {
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
}
