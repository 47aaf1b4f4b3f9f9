/**
 * The message bodies that tell the S3 source about new objects, in every shape of the
 * contract: an S3 event notification (key URL-encoded as S3 does it, `+` for a space), the
 * same inside an SNS envelope, CloudTrail's own SNS notification (`s3Bucket`,
 * `s3ObjectKey: [...]`), an EventBridge "Object Created" event, and S3's `s3:TestEvent`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ObjectCreated, S3StandIn } from './s3';
import type { SqsStandIn } from './sqs';

/** What a notification says about one object. `ObjectCreated` from the stand-in fits. */
export interface NotifiedObject {
  bucket: { name: string; region: string; accountId: string };
  object: { key: string; body?: { length: number }; size?: number; etag: string; sequencer: string };
  eventName?: string;
  principalId?: string;
  eventTime?: Date;
}

/**
 * S3's key encoding in event notifications: form-URL-encoding (space → `+`, like Java's
 * URLEncoder: letters, digits and `.-*_` kept) with `/` left as is.
 */
export function s3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

const sizeOf = (o: NotifiedObject['object']) => o.size ?? o.body?.length ?? 0;
const unquoted = (etag: string) => etag.replace(/^"|"$/g, '');
const hostId = () => randomBytes(48).toString('base64');
const s3RequestId = () => randomBytes(8).toString('hex').toUpperCase();

/** One element of an S3 event notification's `Records`. */
export function s3EventRecord(n: NotifiedObject, configurationId = 'trail-files'): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: n.bucket.region,
    eventTime: (n.eventTime ?? new Date()).toISOString(),
    eventName: n.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: n.principalId ?? 'AWS:AROAEXAMPLEROLEID:cloudtrail' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': s3RequestId(), 'x-amz-id-2': hostId() },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId,
      bucket: { name: n.bucket.name, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${n.bucket.name}` },
      object: { key: s3EventKey(n.object.key), size: sizeOf(n.object), eTag: unquoted(n.object.etag), sequencer: n.object.sequencer },
    },
  };
}

/** The SQS message body S3 sends directly to a queue (one record per object; S3 sends one). */
export function s3EventMessage(objects: NotifiedObject | readonly NotifiedObject[]): string {
  const list = Array.isArray(objects) ? objects : [objects as NotifiedObject];
  return JSON.stringify({ Records: list.map((o) => s3EventRecord(o)) });
}

export interface SnsOptions {
  topicArn?: string;
  subject?: string;
}

/** An SNS notification as delivered to SQS without raw message delivery. */
export function snsEnvelope(message: string, opts: SnsOptions = {}): string {
  const topicArn = opts.topicArn ?? 'arn:aws:sns:us-east-1:111122223333:trail-notifications';
  return JSON.stringify({
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    ...(opts.subject === undefined ? {} : { Subject: opts.subject }),
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    Signature: randomBytes(256).toString('base64'),
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${randomUUID()}`,
  });
}

/** S3 → SNS → SQS: the S3 event inside an envelope, subject as S3 sets it. */
export function snsWrappedS3Event(objects: NotifiedObject | readonly NotifiedObject[], opts: SnsOptions = {}): string {
  return snsEnvelope(s3EventMessage(objects), { subject: 'Amazon S3 Notification', ...opts });
}

/** CloudTrail's own SNS notification for delivered log files (keys not URL-encoded). */
export function cloudTrailSnsMessage(bucket: string, keys: readonly string[], opts: SnsOptions = {}): string {
  return snsEnvelope(JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [...keys] }), opts);
}

export interface EventBridgeOptions {
  /**
   * EventBridge's `detail.object.key` is sent as the plain key by default. Set to URL-encode
   * it like S3 notifications, to test a reader that must cope with either.
   */
  encodeKey?: boolean;
  reason?: 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload';
}

/** An EventBridge "Object Created" event (the SQS body when a rule targets the queue). */
export function eventBridgeObjectCreated(n: NotifiedObject, opts: EventBridgeOptions = {}): string {
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: n.bucket.accountId,
    time: (n.eventTime ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: n.bucket.region,
    resources: [`arn:aws:s3:::${n.bucket.name}`],
    detail: {
      version: '0',
      bucket: { name: n.bucket.name },
      object: { key: opts.encodeKey ? s3EventKey(n.object.key) : n.object.key, size: sizeOf(n.object), etag: unquoted(n.object.etag), sequencer: n.object.sequencer },
      'request-id': s3RequestId(),
      requester: n.bucket.accountId,
      'source-ip-address': '127.0.0.1',
      reason: opts.reason ?? 'PutObject',
    },
  });
}

/** What S3 sends once when a notification configuration is saved. */
export function s3TestEvent(bucket: string): string {
  return JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket, RequestId: s3RequestId(), HostId: hostId() });
}

/** Every shape for one object, keyed by name, for table-driven tests. */
export function allNotificationShapes(n: ObjectCreated | NotifiedObject): Record<'s3' | 'sns-s3' | 'cloudtrail-sns' | 'eventbridge', string> {
  return {
    s3: s3EventMessage(n),
    'sns-s3': snsWrappedS3Event(n),
    'cloudtrail-sns': cloudTrailSnsMessage(n.bucket.name, [n.object.key]),
    eventbridge: eventBridgeObjectCreated(n),
  };
}

export type NotificationShape = keyof ReturnType<typeof allNotificationShapes>;

/**
 * Wire the bucket to the queue as a stack would: every object created in `bucket` (and
 * passing `filter`) becomes one message of `shape` on `queue`. Returns an unsubscribe.
 */
export function routeNotifications(
  s3: S3StandIn,
  sqs: SqsStandIn,
  opts: { bucket: string; queue: string; shape?: NotificationShape; filter?: (key: string) => boolean },
): () => void {
  return s3.onObjectCreated((e) => {
    if (e.bucket.name !== opts.bucket || (opts.filter && !opts.filter(e.object.key))) return;
    sqs.sendMessage(opts.queue, allNotificationShapes(e)[opts.shape ?? 's3']);
  });
}
