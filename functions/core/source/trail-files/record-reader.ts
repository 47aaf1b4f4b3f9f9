/**
 * Reads one record of a trail file as its bytes go by: checks it against the whole JSON grammar
 * and notes where its top-level keys and values are, so records.ts and the filters get their
 * fields without JSON.parse building the record (parsing was a fifth of the S3 forwarder's CPU).
 * String content is passed over with Buffer.indexOf; the JS loop sees only bytes between strings.
 * Left to the end, on the record's bytes (record-fields.ts): raw control characters in strings,
 * and records that are not plain (escaped keys, line breaks between tokens), which the caller
 * parses instead.
 */
import { BYTES, ESCAPABLE, isDigit, isHex, JsonLiteral, JsonNumber, RecordSyntaxError } from './json-tokens';
import { PairKind, scannedRecord, type ScannedRecord } from './record-fields';

export type { ScannedRecord, TopFields } from './record-fields';

// Local copies: an imported binding is a property load in CommonJS output, in the hottest loop.
const { QUOTE, BACKSLASH, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET, COMMA, COLON } = BYTES;
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
const doubled = <T extends Uint8Array | Int32Array>(from: T, to: T): T => (to.set(from), to);

export class RecordReader {
  private containers = new Uint8Array(64);
  private depth = 0;
  private expect = Expect.Value;
  private inString = false;
  private stringIsKey = false;
  private escapePending = false;
  private hexLeft = 0;
  private readonly literal = new JsonLiteral();
  private readonly num = new JsonNumber();
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

  /** Call when a new chunk arrives: the backslash found in the last one says nothing of it. */
  newChunk(): void {
    this.backslashFound = false;
  }

  /** The record's bytes, once `done`: its text and, if plain, its top-level fields. */
  result(bytes: Buffer): ScannedRecord {
    return scannedRecord(bytes, this.pairs, this.pairCount, this.unusual);
  }

  /** Starts a value at stream offset `at`: a record's `{`, or the file's other values' `[` or `"`. */
  begin(at: number, opening: number = OPEN_BRACE): void {
    this.depth = opening === QUOTE ? 0 : 1;
    this.containers[1] = opening === OPEN_BRACKET ? ARRAY : OBJECT;
    this.expect = opening === OPEN_BRACKET ? Expect.ValueOrEnd : Expect.KeyOrEnd;
    this.inString = this.escapePending = false;
    this.hexLeft = 0;
    this.literal.stop();
    this.num.stop();
    this.base = at;
    this.pairCount = 0;
    this.unusual = false;
    this.done = false;
    if (opening === QUOTE) this.openString(false, at + 1);
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
        if (this.done) return i;
        continue;
      }
      const b = chunk[i];
      if (this.literal.reading || this.num.reading) {
        if (this.literal.reading) {
          if (!this.literal.step(b, chunkAt + i++)) this.expect = Expect.CommaOrEnd;
          continue;
        }
        if (this.num.step(b, chunkAt + i)) {
          i++;
          continue;
        }
        // The number ended at this byte, which is read again as what follows it.
        this.num.stop();
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
            throw new RecordSyntaxError('expected a key in double quotes', chunkAt + i - 1);
          }
          break;
        case Expect.Colon:
          if (b !== COLON) throw new RecordSyntaxError('expected ":" after a key', chunkAt + i - 1);
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
            if (this.containers[this.depth] !== kind) throw new RecordSyntaxError(`unexpected "${String.fromCharCode(b)}"`, chunkAt + i - 1);
            if (this.close(kind)) return i;
          } else {
            throw new RecordSyntaxError('expected "," or the end of an object or array', chunkAt + i - 1);
          }
          break;
      }
    }
    return i;
  }

  private value(b: number, at: number): void {
    if (b === QUOTE) {
      this.openString(false, at + 1);
      return;
    }
    if (this.depth === 1) this.pushPair(b === 0x74 ? PairKind.True : b === 0x66 ? PairKind.False : PairKind.Other, 0, 0);
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++this.depth >= this.containers.length) this.containers = doubled(this.containers, new Uint8Array(this.containers.length * 2));
      this.containers[this.depth] = b === OPEN_BRACE ? OBJECT : ARRAY;
      this.expect = b === OPEN_BRACE ? Expect.KeyOrEnd : Expect.ValueOrEnd;
    } else if (b === 0x74 || b === 0x66 || b === 0x6e) {
      this.literal.start(b);
    } else if (b === MINUS || isDigit(b)) {
      this.num.start(b);
    } else {
      throw new RecordSyntaxError('expected a JSON value', at);
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
      this.escapePending = false;
      i = this.escape(chunk, i, chunkAt);
    } else if (this.hexLeft > 0) {
      i = this.hexDigits(chunk, i, chunkAt);
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
        i = this.escape(chunk, bs + 1, chunkAt);
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

  /** The character after a backslash at `i` (and a \\u's four hex digits, as far as the chunk goes). */
  private escape(chunk: Buffer, i: number, chunkAt: number): number {
    if (!ESCAPABLE.has(chunk[i])) throw new RecordSyntaxError('an invalid escape in a string', chunkAt + i);
    if (chunk[i] !== 0x75) return i + 1;
    this.hexLeft = 4;
    return this.hexDigits(chunk, i + 1, chunkAt);
  }

  private hexDigits(chunk: Buffer, i: number, chunkAt: number): number {
    for (; this.hexLeft > 0 && i < chunk.length; this.hexLeft--, i++) {
      if (!isHex(chunk[i])) throw new RecordSyntaxError('an invalid \\u escape in a string', chunkAt + i);
    }
    return i;
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
    // A string that was the whole value (the file's other top-level values) ends it.
    if (this.depth === 0) this.done = true;
    if (this.depth === 1) this.pushPair(this.stringEscaped ? PairKind.EscapedString : PairKind.String, this.valueStart, quoteAt - this.base);
  }

  private pushPair(kind: number, valueStart: number, valueEnd: number): void {
    let at = this.pairCount * 5;
    if (at + 5 > this.pairs.length) this.pairs = doubled(this.pairs, new Int32Array(this.pairs.length * 2));
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
    if (this.containers[this.depth] !== kind) throw new RecordSyntaxError('mismatched brackets', this.base);
    if (--this.depth === 0) {
      this.done = true;
      return true;
    }
    this.expect = Expect.CommaOrEnd;
    return false;
  }
}
