/**
 * The event contract between sources and the delivery core: what every source hands over,
 * whatever it reads (LookupEvents, trail files). Sinks, filters and records depend on this
 * module, never on a source adapter.
 */
/** One CloudTrail event to deliver, with the time in epoch seconds (LookupEvents' field names). */
export interface SourceEvent {
  eventId: string;
  eventTime: number;
  eventName?: string;
  eventSource?: string;
  readOnly?: string;
  username?: string;
  accessKeyId?: string;
  resources?: { ResourceType?: string; ResourceName?: string }[];
  /** The CloudTrail record as a JSON string (may be malformed; the sink copes). */
  cloudTrailEvent?: string;
  /** `cloudTrailEvent` already parsed (trail files parse a record only when it is not plain). */
  record?: Record<string, unknown>;
  /**
   * Trail files: the record, as its UTF-8 bytes (`cloudTrailEvent` is then unset), was checked on
   * the read as a valid, single-line JSON object with keys and no `dnifForwarder`
   * (source/trail-files/record-reader.ts), so the record is built by appending to those bytes
   * without parsing or even decoding them; with its `recipientAccountId`, if a string.
   */
  checked?: { bytes: Buffer; recipientAccountId?: string };
}
