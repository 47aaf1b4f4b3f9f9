/**
 * The trail-file source's resources (`-c source=s3`, the one-connector form): queue sizing as
 * the contract sets it, the event source mapping, least-privilege reading, each notification
 * route, cdk-nag clean. Many connectors of both sources: mixed-connectors.test.ts.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ForwarderStack, type ForwarderStackProps } from '../../infra/forwarder-stack';
import { nagPacks } from '../../infra/nag';
import { TRAIL_FILE_METRICS, TrailFileMetricName } from '../../functions/core/contract';
import { OptionError } from '../../infra/settings';
import { resolveS3Settings } from '../../infra/s3-settings';
import { actionsOf, allPolicyStatements, asArray } from './helpers';

const BASE: ForwarderStackProps = {
  source: 's3',
  trailBucket: 'arn:aws:s3:::org-log-archive',
  trailPrefix: 'org trail',
  trailKmsKeyArn: 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

function build(options: ForwarderStackProps): { app: App; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ForwarderStack(app, 'S3Test', options);
  return { app, template: Template.fromStack(stack) };
}

const findings = (app: App): string[] =>
  nagPacks(app).flatMap((pack) => pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)));

describe('source=s3 stack', () => {
  const { template } = build({ ...BASE, s3FunctionTimeoutSeconds: 120, maxConcurrency: 4 });

  it('has a queue whose visibility timeout is 6x the function timeout, with a DLQ after 5 receives', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Timeout: 120 } });
    expect(Object.keys(fns)).toHaveLength(1);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
  });

  it('maps the queue to the forwarder with partial batch failures and a concurrency cap', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
      BatchSize: 10,
    });
  });

  it('runs the s3-forwarder handler with the contract environment and no schedule', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DNIF_OUTAGE_TOLERANCE_HOURS: '24', BATCH_MAX_EVENTS: '500', SECRET_ID: Match.anyValue(), CHECKPOINT_TABLE: Match.anyValue() }) },
    });
    // The only schedule is the trail audit's (infra/trail-audit.ts).
    expect(Object.keys(template.findResources('AWS::Events::Rule')).filter((id) => !id.startsWith('TrailAudit'))).toHaveLength(0);
  });

  it('reads only the trail prefix, and decrypts with the one key only through S3', () => {
    const statements = allPolicyStatements(template);
    const get = statements.find((st) => st.Sid === 'ReadTrailFiles');
    expect(get?.Resource).toBe('arn:aws:s3:::org-log-archive/org?trail/AWSLogs/*'); // `?`: the space
    expect(statements.find((st) => st.Sid === 'ListTrailFiles')?.Condition).toEqual({ StringLike: { 's3:prefix': ['org trail/AWSLogs/*'] } });
    const kms = statements.filter((st) => asArray(st.Action).includes('kms:Decrypt') && st.Sid === 'DecryptTrailFiles');
    expect(kms.length).toBeGreaterThan(0);
    for (const st of kms) {
      expect(st.Resource).toBe(BASE.trailKmsKeyArn);
      expect(st.Condition).toEqual({ StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } });
    }
    expect(actionsOf(statements)).not.toContain('s3:*');
    expect(actionsOf(statements)).not.toContain('cloudtrail:LookupEvents');
  });

  it('adds an S3 event notification for .json.gz under AWSLogs/ of the prefix', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [Match.objectLike({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: Match.arrayWith([{ Name: 'suffix', Value: '.json.gz' }, { Name: 'prefix', Value: 'org trail/AWSLogs/' }]) } } })],
      },
    });
  });

  it('alarms on the DLQ, the oldest message and read errors', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties.AlarmName));
    for (const id of ['DeadLetters', 'QueueAgeHigh', 'ObjectReadErrors']) expect(names.some((n) => n.includes(id))).toBe(true);
  });
});

describe('notification routes', () => {
  it('eventbridge: a rule on Object Created under the prefix targets the queue', () => {
    const { template } = build({ ...BASE, notifications: 'eventbridge' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: ['org-log-archive'] }, object: { key: [{ prefix: 'org trail/AWSLogs/' }] } } },
    });
  });

  it('sns: the queue subscribes to the trail topic', () => {
    const { template } = build({ ...BASE, notifications: 'sns', trailTopicArn: 'arn:aws:sns:us-east-1:999988887777:trail' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', TopicArn: 'arn:aws:sns:us-east-1:999988887777:trail' });
  });

  it('external: the queue lets that bucket send, nothing is set on the bucket', () => {
    const { template } = build({ ...BASE, notifications: 'external' });
    expect(Object.keys(template.findResources('Custom::S3BucketNotifications'))).toHaveLength(0);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'TrailBucketNotifications', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::org-log-archive' } } })]) },
    });
  });

  it.each([
    ['s3', {}],
    ['eventbridge', { notifications: 'eventbridge' as const }],
    ['sns', { notifications: 'sns' as const, trailTopicArn: 'arn:aws:sns:us-east-1:999988887777:trail' }],
    ['external, no KMS key', { notifications: 'external' as const, trailKmsKeyArn: undefined }],
  ])('%s: no unacknowledged cdk-nag finding', (_name, extra) => {
    expect(findings(build({ ...BASE, ...extra }).app)).toEqual([]);
  });
});

describe('trail-file metrics', () => {
  it('are the ones the S3 forwarder emits', () => {
    expect(Object.keys(TRAIL_FILE_METRICS).sort()).toEqual(Object.values(TrailFileMetricName).sort());
  });
});

describe('options', () => {
  it('names a bad option', () => {
    expect(resolveS3Settings({})).toBeUndefined();
    expect(() => resolveS3Settings({ source: 's3' })).toThrow(/trailBucket is required/);
    expect(() => resolveS3Settings({ source: 's3', trailBucket: 'Bad_Bucket' })).toThrow(OptionError);
    expect(() => resolveS3Settings({ source: 's3', trailBucket: 'b-1', notifications: 'sns' })).toThrow(/trailTopicArn/);
    expect(() => resolveS3Settings({ source: 'kinesis' as 's3' })).toThrow(/source/);
    expect(resolveS3Settings({ source: 's3', trailBucket: 'my-trail', trailPrefix: '/p/' })).toMatchObject({ bucketArn: 'arn:aws:s3:::my-trail', prefix: 'p', notifications: 's3' });
  });
});
