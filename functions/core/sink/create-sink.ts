import type { Connector } from '../connector';
import { HttpSink } from './http-sink';
import type { Sink } from './sink';
import { SyslogSink } from './syslog-sink';

/**
 * The sink the connector asks for: DNIF's HTTP Connector (`dnif.url`) or a DNIF Adapter over
 * syslog (`dnif.syslog`). The connector schema accepts exactly one of the two.
 */
export function createSink(connector: Connector): Sink {
  if (connector.syslog) return new SyslogSink(connector.syslog, { hostname: connector.name });
  if (connector.http) return new HttpSink(connector.http);
  throw new Error('The connector names no DNIF destination: give dnif.url or dnif.syslog');
}
