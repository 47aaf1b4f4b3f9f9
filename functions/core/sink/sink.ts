/** The sink contract: where batches go (DNIF's HTTP Connector, or a DNIF Adapter over syslog). */
import type { Deadline } from '../deadline';
import type { OutgoingRecord } from './records';

export interface SendStats {
  attempts: number;
  /** Failed attempts (retryable or not): feeds the SinkErrors metric. */
  errors: number;
  bytesSent: number;
}

/** Where batches go: DNIF's HTTP Connector, or a DNIF Adapter over syslog. */
export interface Sink {
  /**
   * Resolves once DNIF has acknowledged the batch (HTTP: a 2xx; syslog: the Adapter confirmed it
   * by closing the connection after it). Only then may the caller record the batch as delivered.
   */
  send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats>;
  /** The largest serialised record this sink takes whole (syslog: its message size cap); build records within it. */
  readonly maxRecordBytes?: number;
  close?(): Promise<void>;
}
