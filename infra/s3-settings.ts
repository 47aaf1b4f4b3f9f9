/**
 * Options of the trail-file source (a connector with `source: 's3'`, or `-c source=s3`), their
 * defaults and checks. Kept apart from settings.ts: they mean nothing to the LookupEvents source.
 */
import { OptionError } from './settings';
import type { TrailAuditOptions } from './trail-audit';

/** How S3 tells the queue about new trail files. */
export type NotificationRoute = 's3' | 'eventbridge' | 'sns' | 'external';

/** What a connector with `source: 's3'` sets (the same names at the top level are their defaults). */
export interface TrailFileOptions extends TrailAuditOptions {
  /** The trail's bucket: a name or an ARN (it may live in another account). Required with source=s3. */
  readonly trailBucket?: string;
  /** The trail's S3 key prefix, without a trailing slash. @default none */
  readonly trailPrefix?: string;
  /** The KMS key the trail encrypts its files with (SSE-KMS): grants kms:Decrypt through S3 only. */
  readonly trailKmsKeyArn?: string;
  /**
   * s3: the stack adds an S3 event notification to the bucket (same account, the stack may change it);
   * eventbridge: a rule on "Object Created" (the bucket sends to EventBridge); sns: the queue subscribes
   * to the trail's SNS topic (`trailTopicArn`); external: the bucket owner points a notification at the
   * queue, which allows it. @default s3
   */
  readonly notifications?: NotificationRoute;
  /** The trail's SNS topic, for notifications=sns. */
  readonly trailTopicArn?: string;
  /** Cap on concurrent invocations the queue drives (2-1000), so DNIF's ingest rate can be capped. @default 10 */
  readonly maxConcurrency?: number;
  /** Messages per invocation (1-10). @default 10 */
  readonly s3BatchSize?: number;
  /** Timeout of the S3 forwarder (60-900 s); the queue's visibility timeout is six times it. @default 300 */
  readonly s3FunctionTimeoutSeconds?: number;
  /** SPEC env DNIF_OUTAGE_TOLERANCE_HOURS. @default 24 */
  readonly outageToleranceHours?: number;
  /** Alarm when the oldest message waits longer than this. @default 3600 */
  readonly queueAgeAlarmSeconds?: number;
}

export interface S3SourceOptions extends TrailFileOptions {
  /** Which source the connector reads. @default lookup-events */
  readonly source?: 'lookup-events' | 's3';
}

/** The names of TrailFileOptions, in props, in a connector and in `-c name=value`. */
export const TRAIL_FILE_OPTION_NAMES = [
  'trailBucket', 'trailPrefix', 'trailKmsKeyArn', 'notifications', 'trailTopicArn', 'maxConcurrency', 's3BatchSize',
  's3FunctionTimeoutSeconds', 'outageToleranceHours', 'queueAgeAlarmSeconds', 'auditLookbackHours',
] as const satisfies readonly (keyof TrailFileOptions)[];

/** Only the trail-file options that are set. */
export function trailFileOptionsOf(o: object): TrailFileOptions {
  const values = o as Record<string, unknown>;
  return Object.fromEntries(TRAIL_FILE_OPTION_NAMES.flatMap((k) => (values[k] === undefined ? [] : [[k, values[k]]])));
}

export interface S3SourceSettings {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** '' or the prefix without its trailing slash. */
  readonly prefix: string;
  readonly kmsKeyArn?: string;
  readonly notifications: NotificationRoute;
  readonly topicArn?: string;
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly timeoutSeconds: number;
  readonly outageToleranceHours: number;
  readonly queueAgeAlarmSeconds: number;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_ARN = /^arn:(aws[a-z-]*):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/;
const ROUTES: readonly NotificationRoute[] = ['s3', 'eventbridge', 'sns', 'external'];

/**
 * Undefined when the connector reads Event history (the default source). `where` names a field
 * in errors (`connectors[2].trailBucket` for a connector of `connectors`).
 */
export function resolveS3Settings(o: S3SourceOptions, where: (field: string) => string = (f) => f): S3SourceSettings | undefined {
  const fail = (field: string, problem: string) => new OptionError(where(field), problem);
  const int = (option: string, value: number | undefined, fallback: number, min: number, max: number): number => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < min || n > max) throw fail(option, `must be a whole number from ${min} to ${max}, got ${n}`);
    return n;
  };
  if (o.source !== undefined && o.source !== 'lookup-events' && o.source !== 's3') {
    throw fail('source', `must be lookup-events or s3, got "${String(o.source)}"`);
  }
  if (o.source !== 's3') return undefined;
  if (!o.trailBucket) throw fail('trailBucket', 'is required with source=s3 (the bucket name or ARN the trail writes to)');
  const arn = BUCKET_ARN.exec(o.trailBucket);
  if (!arn && !BUCKET_NAME.test(o.trailBucket)) throw fail('trailBucket', `must be an S3 bucket name or ARN, got "${o.trailBucket}"`);
  const bucketName = arn ? arn[2] : o.trailBucket;
  const prefix = (o.trailPrefix ?? '').replace(/^\/+|\/+$/g, '');
  if (/[*?]/.test(prefix)) throw fail('trailPrefix', 'must be a literal key prefix (no wildcards)');
  if (o.trailKmsKeyArn !== undefined && !KMS_KEY_ARN.test(o.trailKmsKeyArn)) throw fail('trailKmsKeyArn', `must be a KMS key ARN (arn:...:key/<id>), got "${o.trailKmsKeyArn}"`);
  const notifications = o.notifications ?? 's3';
  if (!ROUTES.includes(notifications)) throw fail('notifications', `must be one of ${ROUTES.join(', ')}, got "${String(notifications)}"`);
  if (notifications === 'sns' && !o.trailTopicArn) throw fail('trailTopicArn', 'is required with notifications=sns');
  if (o.trailTopicArn !== undefined && !TOPIC_ARN.test(o.trailTopicArn)) throw fail('trailTopicArn', `must be an SNS topic ARN, got "${o.trailTopicArn}"`);
  return {
    bucketName,
    bucketArn: arn ? o.trailBucket : `arn:aws:s3:::${bucketName}`,
    prefix,
    kmsKeyArn: o.trailKmsKeyArn,
    notifications,
    topicArn: o.trailTopicArn,
    maxConcurrency: int('maxConcurrency', o.maxConcurrency, 10, 2, 1000),
    batchSize: int('s3BatchSize', o.s3BatchSize, 10, 1, 10),
    timeoutSeconds: int('s3FunctionTimeoutSeconds', o.s3FunctionTimeoutSeconds, 300, 60, 900),
    outageToleranceHours: int('outageToleranceHours', o.outageToleranceHours, 24, 1, 14 * 24),
    queueAgeAlarmSeconds: int('queueAgeAlarmSeconds', o.queueAgeAlarmSeconds, 3600, 300, 14 * 86400),
  };
}

/** Reads the options from `-c name=value` context. */
export function s3OptionsFromContext(get: (key: string) => unknown): S3SourceOptions {
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new OptionError(key, 'must be a string');
    return String(v).trim();
  };
  const num = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new OptionError(key, `must be a whole number, got "${v}"`);
    return Number(v);
  };
  return {
    source: str('source') as S3SourceOptions['source'],
    trailBucket: str('trailBucket'),
    trailPrefix: str('trailPrefix'),
    trailKmsKeyArn: str('trailKmsKeyArn'),
    notifications: str('notifications') as NotificationRoute | undefined,
    trailTopicArn: str('trailTopicArn'),
    maxConcurrency: num('maxConcurrency'),
    s3BatchSize: num('s3BatchSize'),
    s3FunctionTimeoutSeconds: num('s3FunctionTimeoutSeconds'),
    outageToleranceHours: num('outageToleranceHours'),
    queueAgeAlarmSeconds: num('queueAgeAlarmSeconds'),
    auditLookbackHours: num('auditLookbackHours'),
  };
}
