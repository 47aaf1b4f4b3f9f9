/**
 * What a confirmed syslog batch costs (issue 11 #2): batches of 500 events through the real
 * SyslogSink to the syslog receiver stand-in (mutual TLS) and, when installed, a real rsyslog
 * (GnuTLS and OpenSSL drivers), each confirmed by the close handshake. Prints ms per batch.
 *   npx tsx scripts/syslog-cost.ts
 */
import './quiet-env';
import type { SyslogTarget } from '../functions/core/connector';
import { buildRecord } from '../functions/core/sink/records';
import { SyslogSink } from '../functions/core/sink/syslog-sink';
import { Deadline } from '../functions/core/deadline';
import { loadRecords } from '../standins';
import { startSyslogReceiver } from '../standins/syslog-receiver';
import { RSYSLOGD, startRsyslog } from '../test/helpers/rsyslog';

const BATCHES = 20;
const PER_BATCH = 500;

async function measure(label: string, target: SyslogTarget): Promise<void> {
  const real = loadRecords();
  const batch = (b: number) =>
    Array.from({ length: PER_BATCH }, (_, k) => {
      const r = real[k % real.length];
      const eventId = `cost-${b}-${k}`;
      return buildRecord(
        { eventId, eventTime: 1_700_000_000 + k, eventName: r.eventName, eventSource: r.eventSource, cloudTrailEvent: JSON.stringify({ ...r, eventID: eventId }) },
        { connectorName: 'bench', region: 'us-east-1', forwardedAt: new Date().toISOString(), flatten: false, maxRecordBytes: 8000 },
      );
    });
  const sink = new SyslogSink(target, { hostname: 'bench' });
  const times: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const records = batch(b);
    const t = performance.now();
    await sink.send(records, new Deadline(Date.now() + 60_000, 0));
    times.push(performance.now() - t);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`${label.padEnd(28)} first ${times[0].toFixed(0)} ms, median ${median.toFixed(0)} ms a batch of ${PER_BATCH} (${Math.round((PER_BATCH * 1000) / median)} events/s), ${sink.counters.confirmations} confirmations`);
}

async function main(): Promise<void> {
  const rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
  await measure('stand-in, mutual TLS 1.3', { ...(rx.target() as SyslogTarget), maxMessageBytes: 8192 });
  await rx.close();
  if (!RSYSLOGD) return void console.log('rsyslogd not installed: skipped');
  for (const driver of ['gtls', 'ossl'] as const) {
    const rs = await startRsyslog({ driver });
    await measure(`rsyslog ${driver}, mutual TLS`, rs.target() as SyslogTarget);
    await rs.stop();
  }
}

void main();
