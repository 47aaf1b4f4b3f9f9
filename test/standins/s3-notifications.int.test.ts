import { startS3, type ObjectCreated, type S3StandIn } from '../../standins/s3';
import {
  allNotificationShapes,
  cloudTrailSnsMessage,
  routeNotifications,
  eventBridgeObjectCreated,
  s3EventKey,
  s3EventMessage,
  s3TestEvent,
  snsWrappedS3Event,
} from '../../standins/s3-notifications';
import { CredentialRegistry } from '../../standins/sigv4';
import { startSqs } from '../../standins/sqs';

/** How a reader must decode S3 event keys. */
const decodeS3Key = (k: string) => decodeURIComponent(k.replace(/\+/g, ' '));

describe('S3 notification messages', () => {
  let s3: S3StandIn;
  const created: ObjectCreated[] = [];

  beforeAll(async () => {
    s3 = await startS3({ registry: new CredentialRegistry(), defaultRegion: 'eu-west-1', defaultAccountId: '999988887777' });
    s3.createBucket('org-trail');
    s3.onObjectCreated((e) => created.push(e));
  });
  afterAll(() => s3.close());

  it('URL-encodes keys as S3 does: + for a space, %2B for a plus, / kept', () => {
    expect(s3EventKey('my trail/AWSLogs/a+b=c:d (1)*~.json.gz')).toBe('my+trail/AWSLogs/a%2Bb%3Dc%3Ad+%281%29*%7E.json.gz');
    for (const key of ['plain/key.json.gz', 'sp ace/x', 'ü/ñ/日本', "q'uote!/%25"]) expect(decodeS3Key(s3EventKey(key))).toBe(key);
  });

  it('builds an S3 event notification for a stored object', () => {
    const o = s3.putObject('org-trail', 'my trail/AWSLogs/999988887777/CloudTrail/eu-west-1/2026/01/01/f.json.gz', 'abc');
    const body = JSON.parse(s3EventMessage(created[created.length - 1]));
    expect(body.Records).toHaveLength(1);
    expect(body.Records[0]).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: 'org-trail', arn: 'arn:aws:s3:::org-trail' },
        object: { key: 'my+trail/AWSLogs/999988887777/CloudTrail/eu-west-1/2026/01/01/f.json.gz', size: 3, eTag: o.etag.slice(1, -1), sequencer: o.sequencer },
      },
    });
    expect(Date.parse(body.Records[0].eventTime)).not.toBeNaN();
  });

  it('wraps messages in SNS envelopes, and builds CloudTrail SNS, EventBridge and test events', () => {
    const o = s3.putObject('org-trail', 'AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2026/01/01/a b.json.gz', 'x');
    const n = created[created.length - 1];

    const sns = JSON.parse(snsWrappedS3Event(n));
    expect(sns).toMatchObject({ Type: 'Notification', Subject: 'Amazon S3 Notification', SignatureVersion: '1' });
    expect(JSON.parse(sns.Message).Records[0].s3.object.key).toBe('AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2026/01/01/a+b.json.gz');

    const ct = JSON.parse(cloudTrailSnsMessage('org-trail', [o.key, 'k2']));
    expect(ct.Type).toBe('Notification');
    expect(JSON.parse(ct.Message)).toEqual({ s3Bucket: 'org-trail', s3ObjectKey: [o.key, 'k2'] });

    const eb = JSON.parse(eventBridgeObjectCreated(n));
    expect(eb).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: '999988887777',
      region: 'eu-west-1',
      detail: { bucket: { name: 'org-trail' }, object: { key: o.key, size: 1, etag: o.etag.slice(1, -1), sequencer: o.sequencer }, reason: 'PutObject' },
    });
    expect(JSON.parse(eventBridgeObjectCreated(n, { encodeKey: true })).detail.object.key).toBe(s3EventKey(o.key));

    expect(JSON.parse(s3TestEvent('org-trail'))).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'org-trail' });
    expect(Object.keys(allNotificationShapes(n))).toEqual(['s3', 'sns-s3', 'cloudtrail-sns', 'eventbridge']);
  });

  it('routes created objects to a queue as notifications of the chosen shape', async () => {
    const sqs = await startSqs({ registry: new CredentialRegistry(), defaultRegion: 'eu-west-1', defaultAccountId: '999988887777' });
    try {
      sqs.createQueue('trail-files');
      const off = routeNotifications(s3, sqs, { bucket: 'org-trail', queue: 'trail-files', shape: 'sns-s3', filter: (k) => k.endsWith('.json.gz') });
      s3.putObject('org-trail', 'AWSLogs/1/CloudTrail/x y.json.gz', 'a');
      s3.putObject('org-trail', 'AWSLogs/1/other.txt', 'b');
      off();
      s3.putObject('org-trail', 'AWSLogs/1/CloudTrail/late.json.gz', 'c');
      const bodies = sqs.messages('trail-files').map((m) => JSON.parse(JSON.parse(m.body).Message).Records[0].s3.object.key);
      expect(bodies).toEqual(['AWSLogs/1/CloudTrail/x+y.json.gz']);
    } finally {
      await sqs.close();
    }
  });
});
