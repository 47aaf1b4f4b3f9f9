/**
 * Shared wiring for the forwarder's end-to-end tests (test/forwarder/, and the sink and
 * transport tests that run a forwarder): the real forwarder handler against the loopback
 * stand-ins (CloudTrail, STS, Secrets Manager, DynamoDB, DNIF HTTP receiver), plus the
 * syslog receiver stand-in when a test needs a DNIF Adapter.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { generateEvents, type CloudTrailRecord, type ConnectorDocument, type StandIns } from '../../standins';
import type { SyslogReceiver } from '../../standins/syslog-receiver';

export { captureStdout, freshProcess, invokeForwarder, newConnector } from './forwarder-harness';

/** A connector that delivers to a DNIF Adapter over syslog instead of the HTTP receiver. */
export function syslogConnector(s: StandIns, rx: SyslogReceiver, overrides: ConnectorDocument = {}, target: Record<string, unknown> = {}): ConnectorDocument {
  const { dnif: _http, ...rest } = s.connector(overrides);
  return { ...rest, dnif: { syslog: rx.target(target) } };
}

/** `count` events spread over the last `minutes` minutes (ending 10 s ago), in `region` of `accountId`. */
export function recentEvents(count: number, region: string, accountId: string, seed: number, minutes = 40): CloudTrailRecord[] {
  const now = Date.now();
  return generateEvents({ count, region, accountId, from: now - minutes * 60_000, to: now - 10_000, seed });
}

export async function storedCursor(s: StandIns, connector: string, region: string): Promise<Record<string, unknown> | undefined> {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const out = await doc.send(new GetCommand({ TableName: s.dynamodb.tableName, Key: { pk: `cursor#${connector}#${region}` } }));
  return out.Item;
}

export const sorted = (ids: Iterable<string>): string[] => [...ids].sort();
