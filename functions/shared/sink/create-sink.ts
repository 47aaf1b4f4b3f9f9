import type { Connector } from '../connector';
import { HttpSink, type Sink } from './http-sink';

/** The sink the connector asks for. */
export function createSink(connector: Connector): Sink {
  if (connector.http) return new HttpSink(connector.http);
  throw new Error('dnif.syslog delivery is not available yet; give dnif.url');
}
