/**
 * Turns the text of a Semtech config file into a JSON value.
 *
 * Semtech's own files carry C comments (`/* radio_1 provides clock *\/`):
 * PF4 reads them with parson's `json_parse_file_with_comments`, which drops
 * `/* ... *\/` and `// ...` outside strings [PF4 lora_pkt_fwd.c]. We do the
 * same, replacing each comment by blanks of the same length (newlines kept)
 * so the positions in a SyntaxError still point into the user's file.
 */
import { checkJsonLimits, type JsonLimits } from '../../hal/index.js';
import { ConfigError } from './errors.js';

/**
 * Size and depth limits of one config document, checked before it is parsed
 * (the merge copies values and the error-offset scan recurses, so depth must
 * be bounded). Semtech's files are 5-20 KB at depth 3.
 */
export const CONFIG_JSON_LIMITS: JsonLimits = { maxBytes: 1 << 20, maxDepth: 64 };

/** Parses one config document; throws ConfigError naming the file and, when known, the line and column. */
export function parseJsonDocument(name: string, text: string): unknown {
  // A UTF-8 BOM is invisible in editors; dropping it keeps columns as the user sees them.
  const body = stripJsonComments(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const over = checkJsonLimits(body, CONFIG_JSON_LIMITS);
  if (over !== null) {
    throw new ConfigError(name, '(JSON)', `a document of at most ${CONFIG_JSON_LIMITS.maxBytes} bytes and ${CONFIG_JSON_LIMITS.maxDepth} levels of nesting`, over);
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    const reason = cleanSyntaxMessage((err as Error).message);
    const offset = positionFromMessage((err as Error).message) ?? findJsonErrorOffset(body);
    const where = offset === undefined ? '(JSON)' : lineColumn(body, offset);
    throw new ConfigError(name, where, 'valid JSON', reason);
  }
}

/** Replaces comments outside string literals by spaces, keeping line breaks. */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close < 0 ? text.length : close + 2;
      out += blank(text.slice(i, end));
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      out += blank(text.slice(i, end));
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the string literal that opens at `start` (or the end of text if unterminated). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '\n') return i; // unterminated: let JSON.parse report it
    else i++;
  }
  return text.length;
}

function blank(s: string): string {
  return s.replace(/[^\r\n]/g, ' ');
}

/** V8 appends the offending text and a position; both are noise (and may span lines) in a one-line message. */
function cleanSyntaxMessage(message: string): string {
  return message
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function positionFromMessage(message: string): number | undefined {
  const m = /at position (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** `line L column C`, both 1-based, for a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line} column ${column}`;
}

/**
 * Offset of the first syntax error in `text`, for the V8 messages that carry
 * no position ("Unexpected token '}'", "Unexpected end of JSON input").
 * A validating scan only: it builds no values.
 */
export function findJsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else throw i;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) throw i;
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw i;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw i + 2;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw i + 1;
      } else i++;
    }
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) throw i;
    i += m[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') throw i;
        string();
        ws();
        if (text[i] !== ':') throw i;
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else throw i;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else throw i;
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}
