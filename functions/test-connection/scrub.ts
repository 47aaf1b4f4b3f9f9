/**
 * The last line of defence: every string that leaves the function (response body, log line)
 * goes through a Scrubber that replaces any secret value of the connector with [redacted].
 * Messages are written not to contain secrets in the first place; this catches the rest
 * (an upstream error text quoting a token, a user pasting a key into the wrong field).
 */
import { secretValuesOf, type Connector } from '../core/connector';

export const REDACTED = '[redacted]';

/** Values shorter than this are not treated as secrets (they would mangle every message). */
const MIN_SECRET_LENGTH = 4;

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
    }
    this.values = [...all].sort((a, b) => b.length - a.length);
    return this;
  }

  /** Every secret of a parsed connector, plus its extra DNIF header values (often API keys). */
  addConnector(c: Connector): this {
    return this.add([...secretValuesOf(c), ...Object.values(c.http?.headers ?? {})]);
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
