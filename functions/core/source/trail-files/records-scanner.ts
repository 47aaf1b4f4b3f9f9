/**
 * Cuts the `Records` array of a trail file (`{"Records":[{...},{...}]}`) into its records as
 * bytes arrive, holding no more than one record at a time: memory does not grow with the file.
 * Each record is checked and its top-level fields noted by RecordReader on the same pass; its
 * text goes on unchanged (records.ts appends `dnifForwarder` to it).
 *
 * Why not a streaming JSON library (stream-json and the like): they build every value token by
 * token, several times slower than JSON.parse of the record text, and they would re-serialise
 * what CloudTrail wrote. UTF-8 never puts a byte below 0x80 inside a multi-byte character, so
 * scanning bytes is safe.
 */
import { BYTES, RecordSyntaxError } from './json-tokens';
import { RecordReader, type ScannedRecord } from './record-reader';

export type { ScannedRecord, TopFields } from './record-reader';

/** The file is not a trail file's JSON (truncated, malformed, no `Records` array). */
export class TrailJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrailJsonError';
  }
}


const { QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET, COMMA, COLON } = BYTES;
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

const enum State {
  Start,
  /** Inside the top object, before a key, `,` or `}`. */
  TopKey,
  Key,
  Colon,
  Value,
  /** Skipping the value of a key other than `Records`. */
  SkipValue,
  SkipPrimitive,
  /** Inside `Records`, before a record, `,` or `]`. */
  Array,
  Record,
  Done,
}

/** A single record larger than this is not CloudTrail's (it caps records far below). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export class RecordsScanner {
  private state = State.Start;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private keyText = '';
  private sawRecords = false;
  /** Bytes seen so far, for error messages. */
  private offset = 0;
  private readonly reader = new RecordReader();
  /** Checks and passes over the values of the file's other top-level keys. */
  private readonly skipper = new RecordReader();
  /** Records completed so far, to name the one at fault. */
  private records = 0;

  /** Feeds the next chunk; returns every record completed in it. */
  push(chunk: Buffer): ScannedRecord[] {
    const out: ScannedRecord[] = [];
    let i = 0;
    const n = chunk.length;
    let recordStart = -1;
    if (this.state === State.Record) recordStart = 0;
    this.reader.newChunk();
    this.skipper.newChunk();
    while (i < n) {
      switch (this.state) {
        case State.Record: {
          i = this.feed(this.reader, chunk, i);
          if (this.reader.done) {
            out.push(this.finishRecord(chunk, recordStart, i));
            recordStart = -1;
            this.records++;
            this.state = State.Array;
          }
          continue;
        }
        case State.SkipValue: {
          i = this.feed(this.skipper, chunk, i);
          if (this.skipper.done) this.state = State.TopKey;
          continue;
        }
        case State.Key: {
          const q = chunk.indexOf(QUOTE, i);
          const end = q < 0 ? n : q;
          this.keyText += chunk.toString('latin1', i, end);
          if (this.keyText.length > 256) throw this.error('a top-level key is implausibly long');
          i = end;
          if (q >= 0) {
            i++;
            this.state = State.Colon;
          }
          continue;
        }
        default:
          break;
      }
      const b = chunk[i++];
      if (isSpace(b)) continue;
      switch (this.state) {
        case State.Start:
          if (b !== OPEN_BRACE) throw this.error('the file does not start with a JSON object');
          this.state = State.TopKey;
          break;
        case State.TopKey:
          if (b === QUOTE) {
            this.keyText = '';
            this.state = State.Key;
          } else if (b === CLOSE_BRACE) {
            if (!this.sawRecords) throw this.error('the file has no "Records" array');
            this.state = State.Done;
          } else if (b !== COMMA) throw this.error('unexpected character in the top-level object');
          break;
        case State.Colon:
          if (b !== COLON) throw this.error('expected ":" after a top-level key');
          this.state = State.Value;
          break;
        case State.Value:
          if (this.keyText === 'Records') {
            if (b !== OPEN_BRACKET) throw this.error('"Records" is not an array');
            this.sawRecords = true;
            this.state = State.Array;
          } else if (b === OPEN_BRACE || b === OPEN_BRACKET || b === QUOTE) {
            this.skipper.begin(this.offset + i - 1, b);
            this.state = State.SkipValue;
          } else {
            this.state = State.SkipPrimitive;
          }
          break;
        case State.SkipPrimitive:
          if (b === COMMA) this.state = State.TopKey;
          else if (b === CLOSE_BRACE) {
            if (!this.sawRecords) throw this.error('the file has no "Records" array');
            this.state = State.Done;
          }
          break;
        case State.Array:
          if (b === OPEN_BRACE) {
            this.reader.begin(this.offset + i - 1);
            this.state = State.Record;
            recordStart = i - 1;
          } else if (b === CLOSE_BRACKET) this.state = State.TopKey;
          else if (b !== COMMA) throw this.error('an element of "Records" is not an object');
          break;
        case State.Done:
          throw this.error('text after the end of the JSON object');
        default:
          throw this.error('scanner in an unknown state');
      }
    }
    if (this.state === State.Record && recordStart >= 0) this.keepPart(chunk.subarray(recordStart));
    this.offset += n;
    return out;
  }

  /** Call at the end of the stream: throws if the JSON stopped part way. */
  end(): void {
    if (this.state !== State.Done) throw this.error('the JSON ends part way (truncated file?)');
  }

  /** Feeds a reader, its syntax errors told as the file's, naming the record or value at fault. */
  private feed(reader: RecordReader, chunk: Buffer, i: number): number {
    try {
      return reader.feed(chunk, i, this.offset);
    } catch (err) {
      if (!(err instanceof RecordSyntaxError)) throw err;
      const what = reader === this.reader ? `record ${this.records}` : 'a top-level value';
      throw this.error(`${what} is not valid JSON: ${err.problem}`, err.at);
    }
  }

  private keepPart(part: Buffer): void {
    this.partBytes += part.length;
    if (this.partBytes > MAX_RECORD_BYTES) throw this.error(`a record is larger than ${MAX_RECORD_BYTES} bytes`);
    this.parts.push(part);
  }

  private finishRecord(chunk: Buffer, start: number, end: number): ScannedRecord {
    const tail = chunk.subarray(Math.max(0, start), end);
    // Not copied though the record outlives the chunk (it waits in a batch): a stream hands over
    // each chunk it pushes for good (zlib and sockets allocate fresh memory for the next).
    if (this.parts.length === 0) return this.reader.result(tail);
    const bytes = Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.partBytes = 0;
    return this.reader.result(bytes);
  }

  private error(problem: string, at = this.offset): TrailJsonError {
    return new TrailJsonError(`Not a CloudTrail log file: ${problem} (near byte ${at})`);
  }
}
