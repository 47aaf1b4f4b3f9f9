/**
 * The small tokens of the JSON grammar, for RecordReader (record-reader.ts): numbers, read a byte
 * at a time as they may span chunks; escapes; and the error a record that is not JSON gets.
 */

/** The bytes of JSON's structure. */
export const BYTES = { QUOTE: 0x22, BACKSLASH: 0x5c, OPEN_BRACE: 0x7b, CLOSE_BRACE: 0x7d, OPEN_BRACKET: 0x5b, CLOSE_BRACKET: 0x5d, COMMA: 0x2c, COLON: 0x3a } as const;

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

export const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
export const isHex = (b: number): boolean => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
/** What may follow a backslash in a JSON string: " \\ / b f n r t u. */
export const ESCAPABLE: ReadonlySet<number> = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74, 0x75]);

/** `true`, `false` or `null`, checked a byte at a time. */
export class JsonLiteral {
  private expected = '';
  private at = 0;

  get reading(): boolean {
    return this.expected !== '';
  }

  /** Starts at its first byte, `t`, `f` or `n`. */
  start(b: number): void {
    this.expected = b === 0x74 ? 'true' : b === 0x66 ? 'false' : 'null';
    this.at = 1;
  }

  stop(): void {
    this.expected = '';
  }

  /** Takes the next byte; false once the literal is complete. */
  step(b: number, at: number): boolean {
    if (b !== this.expected.charCodeAt(this.at)) throw new RecordSyntaxError(`not a JSON literal (expected "${this.expected}")`, at);
    if (++this.at < this.expected.length) return true;
    this.expected = '';
    return false;
  }
}

const enum NumberState {
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

/** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, checked a byte at a time. */
export class JsonNumber {
  private state = NumberState.None;

  get reading(): boolean {
    return this.state !== NumberState.None;
  }

  /** Starts a number at its first byte (`-` or a digit). */
  start(b: number): void {
    this.state = b === 0x2d ? NumberState.Sign : b === 0x30 ? NumberState.Zero : NumberState.Int;
  }

  stop(): void {
    this.state = NumberState.None;
  }

  /** Takes the next byte; false when it is not part of the number (which then ends before it). */
  step(b: number, at: number): boolean {
    switch (this.state) {
      case NumberState.Sign:
        if (!isDigit(b)) throw new RecordSyntaxError('a number needs a digit after "-"', at);
        this.state = b === 0x30 ? NumberState.Zero : NumberState.Int;
        return true;
      case NumberState.Int:
        return isDigit(b) || this.afterInteger(b, at);
      case NumberState.Zero:
        return this.afterInteger(b, at);
      case NumberState.Dot:
        if (!isDigit(b)) throw new RecordSyntaxError('a number needs digits after "."', at);
        this.state = NumberState.Frac;
        return true;
      case NumberState.Frac:
        if (isDigit(b)) return true;
        if (b !== 0x65 && b !== 0x45) return false;
        this.state = NumberState.E;
        return true;
      case NumberState.E:
        if (b === 0x2b || b === 0x2d) {
          this.state = NumberState.ESign;
          return true;
        }
        return this.exponentDigit(b, at);
      case NumberState.ESign:
        return this.exponentDigit(b, at);
      case NumberState.Exp:
        return isDigit(b);
      default:
        return false;
    }
  }

  /** What may follow a number's integer part: a fraction, an exponent, or its end. */
  private afterInteger(b: number, at: number): boolean {
    if (b === 0x2e) this.state = NumberState.Dot;
    else if (b === 0x65 || b === 0x45) this.state = NumberState.E;
    else if (isDigit(b)) throw new RecordSyntaxError('a number may not have a leading zero', at);
    else return false;
    return true;
  }

  private exponentDigit(b: number, at: number): boolean {
    if (!isDigit(b)) throw new RecordSyntaxError('a number needs digits in its exponent', at);
    this.state = NumberState.Exp;
    return true;
  }
}
