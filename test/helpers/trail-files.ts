/**
 * Test wiring for the trail-file source: real fixture records packed as trail files in the S3
 * stand-in, and forwardObject's dependencies built on the stand-ins through the real SDK.
 */
import { gzipSync } from 'node:zlib';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { ObjectLedger } from '../../functions/core/checkpoint/object-ledger';
import { parseConnector } from '../../functions/core/connector';
import { createSink } from '../../functions/core/sink/create-sink';
import { s3ClientFor } from '../../functions/core/source/trail-files/s3-client';
import type { ForwardObjectDeps } from '../../functions/core/delivery/trail-files/forward-object';
import { Deadline } from '../../functions/core/deadline';
import { loadRecords, type CloudTrailRecord, type StandIns } from '../../standins';

export const quietLogger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** The shared real records, re-homed to `account` and `region` with fresh eventIDs. */
export function recordsFor(account: string, region: string, tag: string, count?: number): CloudTrailRecord[] {
  const base = loadRecords();
  const n = count ?? base.length;
  return Array.from({ length: n }, (_, i) => {
    const r = base[i % base.length];
    return { ...r, awsRegion: region, recipientAccountId: account, eventID: `${tag}-${i}-${String(r.eventID)}` };
  });
}

export const trailKey = (opts: { prefix?: string; org?: string; account: string; region: string; kind?: 'CloudTrail' | 'CloudTrail-Insight' | 'CloudTrail-Digest'; name?: string }): string =>
  `${opts.prefix ? `${opts.prefix}/` : ''}AWSLogs/${opts.org ? `${opts.org}/` : ''}${opts.account}/${opts.kind ?? 'CloudTrail'}/${opts.region}/2026/12/01/${opts.account}_CloudTrail_${opts.region}_20261201T0005Z_${opts.name ?? 'abc'}.json.gz`;

export const packTrailFile = (records: unknown[]): Buffer => gzipSync(JSON.stringify({ Records: records }));

export function putTrailFile(s: StandIns, bucket: string, key: string, records: unknown[]): string {
  const stored = s.s3.putObject(bucket, key, packTrailFile(records));
  return stored.etag.replace(/"/g, '');
}

export function forwardDeps(s: StandIns, connectorName: string, overrides: Partial<ForwardObjectDeps> = {}): ForwardObjectDeps {
  const connector = parseConnector(JSON.stringify(s.connector({ connectorName })));
  const doc = DynamoDBDocumentClient.from(s.dynamodb.client(), { marshallOptions: { removeUndefinedValues: true } });
  return {
    s3: s3ClientFor(connector),
    ledger: new ObjectLedger(doc, s.dynamodb.tableName, connectorName),
    sink: createSink(connector),
    deadline: new Deadline(Date.now() + 60_000, 0),
    limits: { maxEvents: 10, maxBytes: 1_000_000 },
    passesFilters: () => true,
    connectorName,
    flatten: false,
    owner: 'invocation-1',
    leaseUntilMs: Date.now() + 60_000,
    logger: quietLogger,
    ...overrides,
  };
}
