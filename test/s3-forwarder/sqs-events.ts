/** SQS events as a Lambda event source mapping hands them to the function (SPEC.md, "Second source"). */
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:111122223333:trail-files';

export function sqsRecord(body: string, receiveCount = 1, messageId = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (bodies: string[]): SQSEvent => ({ Records: bodies.map((b) => sqsRecord(b)) });
