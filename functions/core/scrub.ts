/**
 * The last line of defence, one for both functions: every string that leaves a function (a log
 * line, a response body, a run summary, a thrown error) goes through a Scrubber that replaces any
 * secret value of the connector with [redacted]. Messages are written from codes so as not to
 * contain secrets in the first place; this catches the rest (an upstream error text quoting a
 * token, a user pasting a key into the wrong field).
 */
import { secretValuesOf, type Connector } from './connector';

export const REDACTED = '[redacted]';

/** Values shorter than this are not treated as secrets (they would mangle every message). */
const MIN_SECRET_LENGTH = 4;
/** Pieces of a secret split at control characters are hidden from this length on. */
const MIN_PIECE_LENGTH = 8;

export class Scrubber {
  private values: string[] = [];

  /** Add values to hide; longest first so a secret containing another is hidden whole. */
  add(values: Iterable<string>): this {
    const all = new Set(this.values);
    for (const v of values) {
      if (typeof v !== 'string' || v.length < MIN_SECRET_LENGTH) continue;
      all.add(v);
      // The same value as it appears inside JSON text (an upstream error quoting a document).
      const json = JSON.stringify(v).slice(1, -1);
      if (json !== v) all.add(json);
      // A library may quote a value with control characters only up to the first of them.
      for (const piece of v.split(/[\x00-\x1f\x7f]+/)) if (piece.length >= MIN_PIECE_LENGTH && piece !== v) all.add(piece);
    }
    this.values = [...all].sort((a, b) => b.length - a.length);
    return this;
  }

  /** Every secret of a parsed connector (its extra DNIF header values and URL user part included). */
  addConnector(c: Connector): this {
    return this.add(secretValuesOf(c));
  }

  /**
   * For a candidate connector that did not parse: every string in it may be a secret put in
   * the wrong (or a misspelt) field, so hide them all. Messages about an invalid connector
   * name fields and rules only, so nothing useful is lost.
   */
  addAllStringsOf(raw: unknown): this {
    const found: string[] = [];
    const walk = (v: unknown, depth: number): void => {
      if (depth > 20) return;
      if (typeof v === 'string') found.push(v);
      else if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
      else if (v && typeof v === 'object') Object.values(v).forEach((x) => walk(x, depth + 1));
    };
    walk(raw, 0);
    return this.add(found);
  }

  /** An error as it may leave the function: same name, message and stack scrubbed, nothing else kept. */
  error<E extends Error>(err: E): E {
    if (!(err instanceof Error)) return err;
    const message = this.text(err.message);
    const stack = err.stack === undefined ? undefined : this.text(err.stack);
    if (message === err.message && stack === err.stack) return err;
    err.message = message;
    if (stack !== undefined) err.stack = stack;
    return err;
  }

  /**
   * For a stored connector that did not parse, kept for the life of the process: hide every string
   * that may be a secret, but not the plain settings (regions, names, modes) later runs log.
   */
  addLikelySecretsOf(raw: unknown): this {
    const plain = /^(connectorName|awsRegions?|type|format|algorithm|host|eventSource|eventName)$/;
    const found: string[] = [];
    const walk = (v: unknown, key: string, depth: number): void => {
      if (depth > 20) return;
      if (typeof v === 'string') {
        if (!plain.test(key) && v.length >= MIN_PIECE_LENGTH) found.push(v);
      } else if (Array.isArray(v)) v.forEach((x) => walk(x, key, depth + 1));
      else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => walk(x, k, depth + 1));
    };
    walk(raw, '', 0);
    return this.add(found);
  }

  text(s: string): string {
    let out = s;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /** A deep copy with every string (values only, not keys) scrubbed. */
  deep<T>(value: T): T {
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (depth > 20 || v === null || typeof v !== 'object') return v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
    };
    return walk(value, 0) as T;
  }
}

/**
 * The process-wide scrubber: every connector read from the secret (and every string of one that
 * did not parse) is added here, and the logger passes every string it writes through it.
 */
export const secretScrubber = new Scrubber();
