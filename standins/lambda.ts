/**
 * The Lambda side of a local run: the events and context Lambda hands the handlers, so tests,
 * the demo and the benchmark invoke them exactly as the service would.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Context, LambdaFunctionURLEvent, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';

/** What EventBridge sends on each tick of the schedule. */
export function scheduledEvent(time = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '111122223333',
    time: time.toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:111122223333:rule/forwarder-schedule'],
    detail: {},
  };
}

/** A context whose remaining time really runs down from `timeoutMs` (on `now`, e.g. a StandInClock's). */
export function lambdaContext(timeoutMs = 60_000, functionName = 'forwarder', now: () => number = Date.now): Context {
  const endsAt = now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => endsAt - now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface UrlEventOptions {
  /** Send the body base64-encoded, as the URL does for non-text content types. */
  base64?: boolean;
  headers?: Record<string, string>;
}

/** A Lambda function URL request (payload format 2.0). */
export function urlEvent(method: string, body?: string | object, opts: UrlEventOptions = {}): LambdaFunctionURLEvent {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      host: 'abcdefghij.lambda-url.us-east-1.on.aws',
      'content-type': 'application/json',
      'user-agent': 'local',
      ...(opts.headers ?? {}),
    },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abcdefghij',
      domainName: 'abcdefghij.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'local' },
      requestId: `req-${randomUUID()}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: text === undefined ? undefined : opts.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
    isBase64Encoded: Boolean(opts.base64),
  };
}

export interface SqsRecordFields {
  body: string;
  messageId?: string;
  receiptHandle?: string;
  /** ApproximateReceiveCount etc.; defaults describe a first receive now. */
  attributes?: Partial<SQSRecord['attributes']>;
  messageAttributes?: SQSRecord['messageAttributes'];
  md5OfMessageAttributes?: string;
}

/** One record of the event Lambda's SQS event source mapping sends (the shape the contract names). */
export function sqsRecord(f: SqsRecordFields, queueArn = 'arn:aws:sqs:us-east-1:111122223333:trail-files'): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: f.messageId ?? randomUUID(),
    receiptHandle: f.receiptHandle ?? randomBytes(96).toString('base64'),
    body: f.body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'AIDAEXAMPLESENDER', ApproximateFirstReceiveTimestamp: now, ...f.attributes } as SQSRecord['attributes'],
    messageAttributes: f.messageAttributes ?? {},
    md5OfBody: createHash('md5').update(f.body, 'utf8').digest('hex'),
    ...(f.md5OfMessageAttributes ? { md5OfMessageAttributes: f.md5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3],
  };
}

/** An SQS event for direct handler calls, without a queue (the event source mapping stand-in builds real ones). */
export function sqsEvent(records: ReadonlyArray<SqsRecordFields | string>, queueArn?: string): SQSEvent {
  return { Records: records.map((r) => sqsRecord(typeof r === 'string' ? { body: r } : r, queueArn)) };
}
