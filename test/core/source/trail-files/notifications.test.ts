import { continuationBody, decodeS3Key, NotificationError, parseMessageBody } from '../../../../functions/core/source/trail-files/notifications';

const KEY = 'my trails/AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0000Z_x+y.json.gz';
// As S3 sends it: form encoding, `+` for a space, `%2B` for a plus.
const ENCODED = 'my+trails/AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0000Z_x%2By.json.gz';

const s3Event = (eventName = 'ObjectCreated:Put', key = ENCODED) => ({
  Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventName, s3: { bucket: { name: 'trail-bucket' }, object: { key, size: 123, eTag: '0123abcd', sequencer: '00A' } } }],
});
const sns = (message: unknown) => JSON.stringify({ Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: JSON.stringify(message) });

describe('parseMessageBody', () => {
  it('reads an S3 event notification and decodes the key as S3 encodes it', () => {
    expect(parseMessageBody(JSON.stringify(s3Event()))).toEqual({ objects: [{ bucket: 'trail-bucket', key: KEY, etag: '0123abcd', size: 123 }], ignored: [] });
  });

  it('reads the same notification inside an SNS envelope', () => {
    expect(parseMessageBody(sns(s3Event())).objects).toEqual([{ bucket: 'trail-bucket', key: KEY, etag: '0123abcd', size: 123 }]);
  });

  it("reads CloudTrail's own SNS notification, whose keys are not encoded", () => {
    const parsed = parseMessageBody(sns({ s3Bucket: 'trail-bucket', s3ObjectKey: [KEY, 'AWSLogs/1/CloudTrail/x.json.gz'] }));
    expect(parsed.objects).toEqual([{ bucket: 'trail-bucket', key: KEY }, { bucket: 'trail-bucket', key: 'AWSLogs/1/CloudTrail/x.json.gz' }]);
  });

  it('reads an EventBridge "Object Created" event', () => {
    const body = JSON.stringify({ version: '0', source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: 'b' }, object: { key: ENCODED, etag: 'e1', size: 5 } } });
    expect(parseMessageBody(body).objects).toEqual([{ bucket: 'b', key: KEY, etag: 'e1', size: 5 }]);
    // ... and with the key as it is, which EventBridge sends by default.
    const plainKey = 'my trails/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz';
    const plain = JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: 'b' }, object: { key: plainKey } } });
    expect(parseMessageBody(plain).objects[0].key).toBe(plainKey);
  });

  it('ignores s3:TestEvent and events other than ObjectCreated:*', () => {
    expect(parseMessageBody(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }))).toEqual({ objects: [], ignored: ['s3:TestEvent'] });
    expect(parseMessageBody(JSON.stringify(s3Event('ObjectRemoved:Delete')))).toEqual({ objects: [], ignored: ['ObjectRemoved:Delete'] });
    expect(parseMessageBody(JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Deleted', detail: {} })).objects).toEqual([]);
  });

  it('refuses a body it cannot read, naming the field', () => {
    expect(() => parseMessageBody('not json')).toThrow(NotificationError);
    expect(() => parseMessageBody('{"hello":1}')).toThrow(/no Records/);
    const noKey = s3Event();
    delete (noKey.Records[0].s3.object as { key?: string }).key;
    expect(() => parseMessageBody(JSON.stringify(noKey))).toThrow(/Records\[0\]\.s3\.object\.key is missing/);
    expect(() => parseMessageBody(JSON.stringify(s3Event('ObjectCreated:Put', 'bad%zzkey')))).toThrow(/not validly URL-encoded/);
  });

  it('round-trips its own continuation messages', () => {
    const body = continuationBody([{ bucket: 'b', key: KEY, etag: 'e' }], { reason: 'dnif-unavailable', attempt: 3, outageSince: '2026-01-01T00:00:00.000Z' });
    expect(parseMessageBody(body)).toEqual({ objects: [{ bucket: 'b', key: KEY, etag: 'e' }], ignored: [], continuation: { reason: 'dnif-unavailable', attempt: 3, outageSince: '2026-01-01T00:00:00.000Z' } });
  });

  it('decodes keys exactly as S3 form-encodes them', () => {
    expect(decodeS3Key('a+b%2Bc%20d%C3%A9')).toBe('a b+c dé');
  });
});
