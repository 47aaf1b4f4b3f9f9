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
import { ESCAPABLE, isDigit, isHex, JsonNumber, RecordSyntaxError } from './json-tokens';
import { PairKind, scannedRecord, type ScannedRecord } from './record-fields';

export { RecordSyntaxError } from './json-tokens';
export type { ScannedRecord, TopFields } from './record-fields';

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

const enum Expect {
  KeyOrEnd,
  Key,
  Colon,
  Value,
  ValueOrEnd,
  CommaOrEnd,
}

const OBJECT = 1;
const ARRAY = 2;
const LITERALS = { t: 'true', f: 'false', n: 'null' } as const;
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
  private readonly num = new JsonNumber();
  /** A literal or a number is part way (`literal` non-empty, or `num` reading). */
  private inToken = false;
  /** Stream offset of the record's first byte: field positions are kept relative to it. */
  private base = 0;
  /** [keyStart, keyEnd, kind, valueStart, valueEnd] per top-level pair, relative to `base`. */
  private pairs = new Int32Array(5 * 32);
  private pairCount = 0;
  private keyStart = 0;
  private keyEnd = 0;
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

  /** The record's bytes, once `done`: its text and, if plain, its top-level fields. */
  result(bytes: Buffer): ScannedRecord {
    return scannedRecord(bytes, this.pairs, this.pairCount, this.unusual);
  }

  /** Starts a record whose `{` is at stream offset `at`. */
  begin(at: number): void {
    this.depth = 1;
    this.containers[1] = OBJECT;
    this.expect = Expect.KeyOrEnd;
    this.inString = this.escapePending = false;
    this.hexLeft = 0;
    this.literal = '';
    this.num.stop();
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
        if (this.num.step(b, chunkAt + i)) {
          i++;
          continue;
        }
        // The number ended at this byte, which is read again as what follows it.
        this.num.stop();
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

  private value(b: number, at: number): void {
    const top = this.depth === 1;
    if (b === QUOTE) {
      this.openString(false, at + 1);
      return;
    }
    if (top) this.pushPair(b === 0x74 ? PairKind.True : b === 0x66 ? PairKind.False : PairKind.Other, 0, 0);
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
    } else if (b === MINUS || isDigit(b)) {
      this.num.start(b);
      this.inToken = true;
    } else {
      throw this.fault('expected a JSON value', at);
    }
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
        if (this.stringEscaped) this.unusual = true;
      }
      return;
    }
    this.expect = Expect.CommaOrEnd;
    if (this.depth === 1) this.pushPair(this.stringEscaped ? PairKind.EscapedString : PairKind.String, this.valueStart, quoteAt - this.base);
  }

  private pushPair(kind: number, valueStart: number, valueEnd: number): void {
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
