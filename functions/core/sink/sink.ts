/** The sink contract: where batches go (DNIF's HTTP Connector, or a DNIF Adapter over syslog). */
import type { Deadline } from '../time';
import type { OutgoingRecord } from './records';

export interface SendStats {
  attempts: number;
  /** Failed attempts (retryable or not): feeds the SinkErrors metric. */
  errors: number;
  bytesSent: number;
}

/** Where batches go: DNIF's HTTP Connector, or a DNIF Adapter over syslog. */
export interface Sink {
  send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats>;
  close?(): Promise<void>;
}
