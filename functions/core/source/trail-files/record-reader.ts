/**
 * Reads one record of a trail file as its bytes go by: checks that it is valid JSON (the full
 * grammar: structure, literals, numbers, escapes) and notes where its top-level keys and values
 * are, so the few fields the forwarder needs are taken without JSON.parse building the whole
 * record (bench: parsing each record was a fifth of the S3 forwarder's CPU, and its garbage more).
 *
 * Bytes inside strings are passed over with Buffer.indexOf (native) for quotes and backslashes;
 * the JS loop sees only the bytes between strings. Two checks are left to the end, on the text:
 * raw control characters inside strings (one regex), and anything unusual (escaped keys, line
 * breaks between tokens, a non-scalar `readOnly`), for which `fields` is undefined and the caller
 * parses the text: JSON.parse then decides, and names the fault.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const MINUS = 0x2d;

/** What a checked record hands on: its text and, when plain, the top-level fields read from it. */
export interface ScannedRecord {
  /** The record's JSON text, byte for byte as in the file. */
  text: string;
  /**
   * Its top-level string fields (and `readOnly` as text), when the record is plain: a compact
   * JSON object with keys, none escaped, no `dnifForwarder`. Undefined: parse `text` instead.
   */
  fields?: TopFields;
}

export interface TopFields {
  eventID?: string;
  eventTime?: string;
  eventName?: string;
  eventSource?: string;
  awsRegion?: string;
  recipientAccountId?: string;
  /** `String(record.readOnly)` for a string or boolean value. */
  readOnly?: string;
}

/** The record is not valid JSON: `problem` says what, `at` is the byte offset in the stream. */
export class RecordSyntaxError extends Error {
  constructor(
    readonly problem: string,
    readonly at: number,
  ) {
    super(problem);
    this.name = 'RecordSyntaxError';
  }
}

const enum Expect {
  KeyOrEnd,
  Key,
  Colon,
  Value,
  ValueOrEnd,
  CommaOrEnd,
}

const enum Kind {
  String = 1,
  EscapedString,
  True,
  False,
  Other,
}

const enum Num {
  None,
  Sign,
  Zero,
  Int,
  Dot,
  Frac,
  E,
  ESign,
  Exp,
}

const OBJECT = 1;
const ARRAY = 2;
const LITERALS = { t: 'true', f: 'false', n: 'null' } as const;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isHex = (b: number): boolean => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const ESCAPABLE = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74, 0x75]);
const CONTROL = /[\x00-\x1f]/;
/** Top-level keys whose values are read, by length: most other keys are told apart by that alone. */
const WANTED = ['eventID', 'eventTime', 'eventName', 'eventSource', 'awsRegion', 'recipientAccountId', 'readOnly', 'dnifForwarder'] as const;
type WantedKey = (typeof WANTED)[number];
const WANTED_BY_LENGTH: WantedKey[][] = [];
for (const key of WANTED) (WANTED_BY_LENGTH[key.length] ??= []).push(key);

/** Which wanted key the key at byte `start` (`length` bytes, unescaped) is, if any; no string is made. */
function wantedKeyAt(text: string, bytes: Buffer, ascii: boolean, start: number, length: number): WantedKey | undefined {
  const candidates = WANTED_BY_LENGTH[length];
  if (candidates === undefined) return undefined;
  for (const key of candidates) {
    if (ascii ? text.startsWith(key, start) : bytes.toString('latin1', start, start + length) === key) return key;
  }
  return undefined;
}

function stringValue(text: string, bytes: Buffer, ascii: boolean, kind: number, start: number, end: number): string {
  if (kind === Kind.EscapedString) return JSON.parse(ascii ? text.slice(start - 1, end + 1) : bytes.toString('utf8', start - 1, end + 1)) as string;
  return ascii ? text.slice(start, end) : bytes.toString('utf8', start, end);
}

export class RecordReader {
  private containers = new Uint8Array(64);
  private depth = 0;
  private expect = Expect.Value;
  private inString = false;
  private stringIsKey = false;
  private escapePending = false;
  private hexLeft = 0;
  private literal = '';
  private literalAt = 0;
  private num = Num.None;
  /** A literal or a number is part way (`literal` or `num` says which). */
  private inToken = false;
  /** Stream offset of the record's first byte: field positions are kept relative to it. */
  private base = 0;
  /** [keyStart, keyEnd, kind, valueStart, valueEnd] per top-level pair, relative to `base`. */
  private pairs = new Int32Array(5 * 32);
  private pairCount = 0;
  private keyStart = 0;
  private keyEnd = 0;
  private keyEscaped = false;
  private valueStart = 0;
  private stringEscaped = false;
  /** The next backslash at or after the read position in the current chunk (-1: none): found once, reused. */
  private nextBackslash = -1;
  private backslashFound = false;
  /** Something only JSON.parse should judge: an escaped key, a line break or tab between tokens. */
  private unusual = false;
  done = false;

  /** Call when a new chunk arrives (its memory may be a reused buffer's). */
  newChunk(): void {
    this.backslashFound = false;
  }

  /** Starts a record whose `{` is at stream offset `at`. */
  begin(at: number): void {
    this.depth = 1;
    this.containers[1] = OBJECT;
    this.expect = Expect.KeyOrEnd;
    this.inString = this.escapePending = false;
    this.hexLeft = 0;
    this.literal = '';
    this.num = Num.None;
    this.inToken = false;
    this.base = at;
    this.pairCount = 0;
    this.unusual = false;
    this.done = false;
  }

  /**
   * Reads `chunk` from `i` (just after the record's `{` on the first call) until the record ends
   * or the chunk does; `chunkAt` is the chunk's stream offset. Returns the index after the last
   * byte read. Throws RecordSyntaxError.
   */
  feed(chunk: Buffer, i: number, chunkAt: number): number {
    const n = chunk.length;
    while (i < n) {
      if (this.inString) {
        i = this.string(chunk, i, chunkAt);
        continue;
      }
      const b = chunk[i];
      if (this.inToken) {
        if (this.literal !== '') {
          if (b !== this.literal.charCodeAt(this.literalAt)) throw this.fault(`not a JSON literal (expected "${this.literal}")`, chunkAt + i);
          i++;
          if (++this.literalAt === this.literal.length) {
            this.literal = '';
            this.inToken = false;
            this.expect = Expect.CommaOrEnd;
          }
          continue;
        }
        if (this.number(b, chunkAt + i)) {
          i++;
          continue;
        }
        // The number ended at this byte, which is read again as what follows it.
        this.num = Num.None;
        this.inToken = false;
        this.expect = Expect.CommaOrEnd;
      }
      i++;
      if (b === SPACE) continue;
      if (b === 0x0a || b === 0x0d || b === 0x09) {
        this.unusual = true;
        continue;
      }
      switch (this.expect) {
        case Expect.KeyOrEnd:
        case Expect.Key:
          if (b === CLOSE_BRACE && this.expect === Expect.KeyOrEnd) {
            if (this.close(OBJECT)) return i;
          } else if (b === QUOTE) {
            this.openString(true, chunkAt + i);
          } else {
            throw this.fault('expected a key in double quotes', chunkAt + i - 1);
          }
          break;
        case Expect.Colon:
          if (b !== COLON) throw this.fault('expected ":" after a key', chunkAt + i - 1);
          this.expect = Expect.Value;
          break;
        case Expect.ValueOrEnd:
        case Expect.Value:
          if (b === CLOSE_BRACKET && this.expect === Expect.ValueOrEnd) {
            if (this.close(ARRAY)) return i;
          } else {
            this.value(b, chunkAt + i - 1);
          }
          break;
        case Expect.CommaOrEnd:
          if (b === COMMA) {
            this.expect = this.containers[this.depth] === OBJECT ? Expect.Key : Expect.Value;
          } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            const kind = b === CLOSE_BRACE ? OBJECT : ARRAY;
            if (this.containers[this.depth] !== kind) throw this.fault(`unexpected "${String.fromCharCode(b)}"`, chunkAt + i - 1);
            if (this.close(kind)) return i;
          } else {
            throw this.fault('expected "," or the end of an object or array', chunkAt + i - 1);
          }
          break;
      }
    }
    return i;
  }

  /** The record's bytes, once `done`: its text and, if plain, its top-level fields. */
  result(bytes: Buffer): ScannedRecord {
    const text = bytes.toString('utf8');
    // Raw control characters are not allowed in JSON strings; between tokens only SP was seen.
    if (this.unusual || this.pairCount === 0 || CONTROL.test(text)) return { text };
    // All ASCII (CloudTrail's records nearly always are): byte offsets are string offsets, and
    // keys and values are cut from the text instead of decoded one by one.
    const ascii = text.length === bytes.length;
    const fields: TopFields = {};
    const p = this.pairs;
    for (let k = 0; k < this.pairCount * 5; k += 5) {
      const start = p[k];
      const name = wantedKeyAt(text, bytes, ascii, start, p[k + 1] - start);
      if (name === undefined) continue;
      const kind = p[k + 2];
      if (name === 'dnifForwarder') return { text };
      if (name === 'readOnly') {
        if (kind === Kind.Other) return { text };
        fields.readOnly = kind === Kind.True ? 'true' : kind === Kind.False ? 'false' : stringValue(text, bytes, ascii, kind, p[k + 3], p[k + 4]);
        continue;
      }
      // As `typeof record[name] === 'string'` would have it: a later duplicate key wins.
      fields[name] = kind === Kind.String || kind === Kind.EscapedString ? stringValue(text, bytes, ascii, kind, p[k + 3], p[k + 4]) : undefined;
    }
    return { text, fields };
  }

  private value(b: number, at: number): void {
    const top = this.depth === 1;
    if (b === QUOTE) {
      this.openString(false, at + 1);
      return;
    }
    if (top) this.pushPair(b === 0x74 ? Kind.True : b === 0x66 ? Kind.False : Kind.Other, 0, 0);
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++this.depth >= this.containers.length) {
        const grown = new Uint8Array(this.containers.length * 2);
        grown.set(this.containers);
        this.containers = grown;
      }
      this.containers[this.depth] = b === OPEN_BRACE ? OBJECT : ARRAY;
      this.expect = b === OPEN_BRACE ? Expect.KeyOrEnd : Expect.ValueOrEnd;
    } else if (b === 0x74 || b === 0x66 || b === 0x6e) {
      this.literal = LITERALS[String.fromCharCode(b) as keyof typeof LITERALS];
      this.literalAt = 1;
      this.inToken = true;
    } else if (b === MINUS) {
      this.num = Num.Sign;
      this.inToken = true;
    } else if (isDigit(b)) {
      this.num = b === 0x30 ? Num.Zero : Num.Int;
      this.inToken = true;
    } else {
      throw this.fault('expected a JSON value', at);
    }
  }

  /** Takes one byte into the number being read; false when the byte is not part of it. */
  private number(b: number, at: number): boolean {
    switch (this.num) {
      case Num.Sign:
        if (!isDigit(b)) throw this.fault('a number needs a digit after "-"', at);
        this.num = b === 0x30 ? Num.Zero : Num.Int;
        return true;
      case Num.Int:
        return isDigit(b) || this.afterInteger(b, at);
      case Num.Zero:
        return this.afterInteger(b, at);
      case Num.Dot:
        if (!isDigit(b)) throw this.fault('a number needs digits after "."', at);
        this.num = Num.Frac;
        return true;
      case Num.Frac:
        if (isDigit(b)) return true;
        if (b !== 0x65 && b !== 0x45) return false;
        this.num = Num.E;
        return true;
      case Num.E:
        if (b === 0x2b || b === MINUS) {
          this.num = Num.ESign;
          return true;
        }
        return this.exponentDigit(b, at);
      case Num.ESign:
        return this.exponentDigit(b, at);
      case Num.Exp:
        return isDigit(b);
      default:
        return false;
    }
  }

  /** What may follow a number's integer part: a fraction, an exponent, or its end. */
  private afterInteger(b: number, at: number): boolean {
    if (b === 0x2e) this.num = Num.Dot;
    else if (b === 0x65 || b === 0x45) this.num = Num.E;
    else if (isDigit(b)) throw this.fault('a number may not have a leading zero', at);
    else return false;
    return true;
  }

  private exponentDigit(b: number, at: number): boolean {
    if (!isDigit(b)) throw this.fault('a number needs digits in its exponent', at);
    this.num = Num.Exp;
    return true;
  }

  private openString(isKey: boolean, contentAt: number): void {
    this.inString = true;
    this.stringIsKey = isKey;
    this.stringEscaped = false;
    if (this.depth === 1) {
      if (isKey) this.keyStart = contentAt - this.base;
      else this.valueStart = contentAt - this.base;
    }
  }

  /** Passes over string content from `i`; returns the index after the closing quote, or n. */
  private string(chunk: Buffer, i: number, chunkAt: number): number {
    const n = chunk.length;
    if (this.escapePending) {
      if (!ESCAPABLE.has(chunk[i])) throw this.fault('an invalid escape in a string', chunkAt + i);
      this.escapePending = false;
      if (chunk[i] === 0x75) this.hexLeft = 4;
      i++;
    }
    while (this.hexLeft > 0 && i < n) {
      if (!isHex(chunk[i])) throw this.fault('an invalid \\u escape in a string', chunkAt + i);
      this.hexLeft--;
      i++;
    }
    while (i < n) {
      const q = chunk.indexOf(QUOTE, i);
      // Looked up again only once passed: a chunk without backslashes is searched once, not per string.
      if (!this.backslashFound || (this.nextBackslash >= 0 && this.nextBackslash < i)) {
        this.nextBackslash = chunk.indexOf(BACKSLASH, i);
        this.backslashFound = true;
      }
      const bs = this.nextBackslash;
      if (bs >= 0 && (q < 0 || bs < q)) {
        this.stringEscaped = true;
        if (bs + 1 >= n) {
          this.escapePending = true;
          return n;
        }
        const e = chunk[bs + 1];
        if (!ESCAPABLE.has(e)) throw this.fault('an invalid escape in a string', chunkAt + bs + 1);
        i = bs + 2;
        if (e === 0x75) {
          this.hexLeft = 4;
          while (this.hexLeft > 0 && i < n) {
            if (!isHex(chunk[i])) throw this.fault('an invalid \\u escape in a string', chunkAt + i);
            this.hexLeft--;
            i++;
          }
        }
        continue;
      }
      if (q < 0) return n;
      this.closeString(chunkAt + q);
      i = q + 1;
      // The usual next bytes, `:"` after a key and `,"` after a value in an object, open the next
      // string here rather than one byte at a time through feed().
      if (i + 1 < n && chunk[i + 1] === QUOTE) {
        const next = chunk[i];
        if (next === COLON && this.expect === Expect.Colon) {
          this.expect = Expect.Value;
          this.openString(false, chunkAt + i + 2);
          i += 2;
          continue;
        }
        if (next === COMMA && this.expect === Expect.CommaOrEnd && this.containers[this.depth] === OBJECT) {
          this.expect = Expect.Key;
          this.openString(true, chunkAt + i + 2);
          i += 2;
          continue;
        }
      }
      return i;
    }
    return n;
  }

  private closeString(quoteAt: number): void {
    this.inString = false;
    if (this.stringIsKey) {
      this.expect = Expect.Colon;
      if (this.depth === 1) {
        this.keyEnd = quoteAt - this.base;
        this.keyEscaped = this.stringEscaped;
        if (this.keyEscaped) this.unusual = true;
      }
      return;
    }
    this.expect = Expect.CommaOrEnd;
    if (this.depth === 1) this.pushPair(this.stringEscaped ? Kind.EscapedString : Kind.String, this.valueStart, quoteAt - this.base);
  }

  private pushPair(kind: Kind, valueStart: number, valueEnd: number): void {
    let at = this.pairCount * 5;
    if (at + 5 > this.pairs.length) {
      const grown = new Int32Array(this.pairs.length * 2);
      grown.set(this.pairs);
      this.pairs = grown;
    }
    const p = this.pairs;
    p[at++] = this.keyStart;
    p[at++] = this.keyEnd;
    p[at++] = kind;
    p[at++] = valueStart;
    p[at] = valueEnd;
    this.pairCount++;
  }

  /** Ends the innermost container; true when that was the record itself. */
  private close(kind: number): boolean {
    if (this.containers[this.depth] !== kind) throw this.fault('mismatched brackets', this.base);
    if (--this.depth === 0) {
      this.done = true;
      return true;
    }
    this.expect = Expect.CommaOrEnd;
    return false;
  }

  private fault(problem: string, at: number): RecordSyntaxError {
    return new RecordSyntaxError(problem, at);
  }
}
