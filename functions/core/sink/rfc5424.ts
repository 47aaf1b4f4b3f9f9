/**
 * One CloudTrail record as an RFC 5424 syslog message, framed by octet counting (RFC 6587
 * §3.4.1) for a DNIF Adapter:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME cloudtrail - MSGID - MSG
 *
 *   PRI        facility local0 (16); severity warning (4) when the record has an errorCode,
 *              informational (6) otherwise
 *   TIMESTAMP  the event's time (CloudTrail eventTime, whole seconds, UTC)
 *   HOSTNAME   the connector name, as printable ASCII without spaces
 *   APP-NAME   cloudtrail; PROCID -
 *   MSGID      the eventName (first 32 characters), or - when there is none
 *   SD         - (an SD-ID of our own would need an IANA enterprise number; MSG carries eventId)
 *   MSG        the JSON record exactly as the HTTP sink sends it (with dnifForwarder), UTF-8
 *              without a BOM (RFC 5424 MSG-ANY: a BOM would break JSON parsers)
 */
import { refitRecord, type OutgoingRecord } from './records';

export const FACILITY_LOCAL0 = 16;
export const SEVERITY_WARNING = 4;
export const SEVERITY_INFORMATIONAL = 6;
export const APP_NAME = 'cloudtrail';

const NIL = '-';

/** RFC 5424 header fields are PRINTUSASCII (33-126) with a length limit; anything else becomes `_`. */
export function headerField(value: string | undefined, maxLength: number): string {
  if (!value) return NIL;
  const cleaned = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return cleaned === '' ? NIL : cleaned;
}

/** `2024-10-16T11:52:46Z` from epoch seconds. */
export function syslogTimestamp(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What the header needs from the record, read from its JSON (flattened records use dotted keys). */
function headerFacts(json: string): { eventName?: string; hasError: boolean } {
  try {
    const record = JSON.parse(json) as Record<string, unknown>;
    const name = record.eventName;
    const error = record.errorCode;
    return { eventName: typeof name === 'string' ? name : undefined, hasError: error !== undefined && error !== null && error !== '' };
  } catch {
    return { hasError: false };
  }
}

export interface FormatOptions {
  hostname: string;
  /** Largest SYSLOG-MSG, header included (dnif.syslog.maxMessageBytes); larger records are shrunk. */
  maxMessageBytes?: number;
}

function header(eventTime: number, eventName: string | undefined, hasError: boolean, hostname: string): string {
  const pri = FACILITY_LOCAL0 * 8 + (hasError ? SEVERITY_WARNING : SEVERITY_INFORMATIONAL);
  return `<${pri}>1 ${syslogTimestamp(eventTime)} ${headerField(hostname, 255)} ${APP_NAME} ${NIL} ${headerField(eventName, 32)} ${NIL} `;
}

/** The longest header a message for this HOSTNAME can have (MSGID at its 32-character limit). */
export function headerBytesBound(hostname: string): number {
  return Buffer.byteLength(header(0, 'x'.repeat(32), false, hostname), 'ascii');
}

/** One SYSLOG-MSG (without framing). */
export function formatMessage(record: OutgoingRecord, opts: FormatOptions): Buffer {
  const { eventName, hasError } = headerFacts(record.json);
  return Buffer.concat([Buffer.from(header(record.eventTime, eventName, hasError, opts.hostname), 'ascii'), Buffer.from(record.json, 'utf8')]);
}

/**
 * `MSG-LEN SP SYSLOG-MSG` for each record, back to back: one batch as it goes on the wire. A
 * message over `maxMessageBytes` is built again from its record shrunk to fit (records.ts), so an
 * Adapter never cuts one short, nor loses its framing; `shrunk` counts them.
 */
export function frameBatch(records: OutgoingRecord[], opts: FormatOptions): Buffer & { shrunk?: number } {
  const parts: Buffer[] = [];
  let shrunk = 0;
  for (const record of records) {
    let message = formatMessage(record, opts);
    if (opts.maxMessageBytes !== undefined && message.length > opts.maxMessageBytes) {
      const refit = refitRecord(record, opts.maxMessageBytes - (message.length - record.bytes));
      if (refit) {
        message = formatMessage(refit, opts);
        shrunk += 1;
      }
    }
    parts.push(Buffer.from(`${message.length} `, 'ascii'), message);
  }
  return Object.assign(Buffer.concat(parts), { shrunk });
}
