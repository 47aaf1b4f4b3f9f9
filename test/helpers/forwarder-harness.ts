/**
 * Drives the real forwarder handler the way Lambda does, against the loopback stand-ins.
 */
import { handler, resetForwarderState } from '../../functions/forwarder/handler';
import type { ForwarderSummary } from '../../functions/forwarder/forward';
import { resetSecretCache } from '../../functions/core/secret';
import { cloudTrailTime, lambdaContext, loadRecords, scheduledEvent, type CloudTrailRecord, type ConnectorDocument, type StandIns } from '../../standins';

export async function invokeForwarder(timeoutMs = 60_000): Promise<ForwarderSummary> {
  return handler(scheduledEvent(), lambdaContext(timeoutMs));
}

/** Settings and caches are per process in Lambda; tests that change the environment reset them. */
export function freshProcess(): void {
  resetForwarderState();
  resetSecretCache();
}

let connectorSeq = 0;

/** A fresh connector name (own checkpoints and lease), empty CloudTrail, clean receivers; the secret put. */
export async function newConnector(s: StandIns, doc: (name: string) => ConnectorDocument = (name) => s.connector({ connectorName: name })): Promise<string> {
  await s.dnif.up();
  const name = `c${++connectorSeq}-${Date.now()}`;
  s.reset();
  s.putConnectorSecret(doc(name));
  freshProcess();
  return name;
}

/** The shared real records, unchanged but for eventTime, spread evenly over [fromMs, toMs]. */
export function realRecordsBetween(fromMs: number, toMs: number, region = 'us-east-1'): CloudTrailRecord[] {
  const records = loadRecords();
  const step = (toMs - fromMs) / Math.max(1, records.length - 1);
  return records.map((r, i) => ({ ...r, awsRegion: region, eventTime: cloudTrailTime(fromMs + Math.round(i * step)) }));
}

/** Captures everything written to stdout (Powertools logs there) while `fn` runs. */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; output: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const result = await fn();
    return { result, output: chunks.join('') };
  } catch (error) {
    return { error, output: chunks.join('') };
  } finally {
    process.stdout.write = original;
    process.stderr.write = originalErr;
  }
}
