/** The trail audit's resources: with the trail-file source only; hourly; least privilege; alarms; cdk-nag clean. */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { nagPacks } from '../../infra/nag';
import { ForwarderStack, type ForwarderStackProps } from '../../infra/forwarder-stack';
import { actionsOf, build as buildDefault, props, roleStatements } from './helpers';

/** The trail-file source's stack (-c source=s3), which the audit comes with. */
function build(options: ForwarderStackProps): { app: App; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return { app, template: Template.fromStack(new ForwarderStack(app, 'Test', options)) };
}

const AUDIT: ForwarderStackProps = { source: 's3', trailBucket: 'org-trail-bucket', trailPrefix: 'trails/org', auditLookbackHours: 12 };
const KMS = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const auditFunction = (t: Template) => {
  const fns = t.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { AUDIT_BUCKET: Match.anyValue() } } } });
  expect(Object.keys(fns)).toHaveLength(1);
  return Object.entries(fns)[0]!;
};

describe('trail audit', () => {
  it('comes with the trail-file source only, and its option is checked', () => {
    const { template } = buildDefault();
    expect(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { AUDIT_BUCKET: Match.anyValue() } } } }))).toEqual([]);
    expect(() => build({ ...AUDIT, auditLookbackHours: 0 })).toThrow(/auditLookbackHours/);
    expect(() => build({ ...AUDIT, auditLookbackHours: 337 })).toThrow(/auditLookbackHours/);
  });

  it('reads the bucket named by ARN too', () => {
    const [, fn] = auditFunction(build({ ...AUDIT, trailBucket: 'arn:aws:s3:::org-trail-bucket' }).template);
    expect(fn.Properties.Environment.Variables.AUDIT_BUCKET).toBe('org-trail-bucket');
  });

  it('runs every hour with the contract environment, one run at a time', () => {
    const { template } = build(AUDIT);
    const [id, fn] = auditFunction(template);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      AUDIT_BUCKET: 'org-trail-bucket',
      AUDIT_PREFIX: 'trails/org',
      AUDIT_LOOKBACK_HOURS: '12',
      POWERTOOLS_SERVICE_NAME: 'cloudtrail-dnif-trail-audit',
    });
    expect(fn.Properties.Environment.Variables.SECRET_ID).toBeDefined();
    expect(fn.Properties.Environment.Variables.CHECKPOINT_TABLE).toBeDefined();
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Timeout).toBe(900);
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify(r.Properties.Targets).includes(id));
    expect(rules.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 hour)']);
  });

  it('may list the trail folders, read digest and log files, list public keys and read trail status, nothing more', () => {
    const { template } = build(AUDIT);
    const statements = roleStatements(template, 'TrailAuditRole');
    expect(actionsOf(statements)).toEqual([
      'cloudtrail:GetTrailStatus', 'cloudtrail:ListPublicKeys',
      'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
      // kms:Decrypt here is the connector secret's key, through Secrets Manager only.
      'kms:Decrypt',
      'logs:CreateLogStream', 'logs:PutLogEvents',
      's3:GetObject', 's3:ListBucket',
      'secretsmanager:GetSecretValue',
      'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
    ]);
    const list = statements.find((s) => s.Sid === 'ListTrailFolders')!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['trails/org/AWSLogs/', 'trails/org/AWSLogs/*'] } });
    const read = JSON.stringify(statements.find((s) => s.Sid === 'ReadDigestAndLogFiles')!.Resource);
    expect(read).toContain('org-trail-bucket/trails/org/AWSLogs/*/CloudTrail-Digest/*');
    expect(read).toContain('org-trail-bucket/trails/org/AWSLogs/*/CloudTrail/*');
    expect(statements.find((s) => s.Sid === 'DecryptTrailFiles')).toBeUndefined();
    expect(statements.some((s) => actionsOf([s]).some((a) => /Put|Delete/.test(a) && a.startsWith('s3:')))).toBe(false);
  });

  it('may decrypt with the trail key only when given', () => {
    const statements = roleStatements(build({ ...AUDIT, trailKmsKeyArn: KMS }).template, 'TrailAuditRole');
    const kms = statements.find((s) => s.Sid === 'DecryptTrailFiles')!;
    expect(kms.Resource).toBe(KMS);
    expect(kms.Action).toBe('kms:Decrypt');
  });

  it('alarms on invalid, missing, logging stopped, delivery errors, no recent digest, failed or missed runs, with a runbook', () => {
    const { template } = build(AUDIT);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const ours = alarms.filter((a) => String(a.AlarmDescription).includes('docs/audit.md'));
    expect(ours.map((a) => JSON.stringify(a.AlarmName)).map((n) => n.match(/-(\w+)"/)?.[1]).sort()).toEqual(
      ['AuditInvalid', 'AuditMissing', 'AuditNotRunning', 'AuditRunErrors', 'NoRecentDigest', 'TrailDeliveryErrors', 'TrailLoggingStopped'],
    );
    const stopped = ours.find((a) => JSON.stringify(a.AlarmName).includes('TrailLoggingStopped'))!;
    expect(stopped).toMatchObject({ MetricName: 'TrailLoggingStopped', Namespace: 'CloudTrailToDnif', Threshold: 1, Period: 3600 });
    expect(stopped.Dimensions).toEqual([{ Name: 'service', Value: 'cloudtrail-dnif-trail-audit' }]);
    const body = JSON.stringify(props(template, 'AWS::CloudWatch::Dashboard', 'TrailFilesMonitoringDashboard').DashboardBody);
    expect(body).toContain('Audit: log files');
    expect(body).toContain('accountId,region,service');
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const options: ForwarderStackProps[] = [AUDIT, { ...AUDIT, trailKmsKeyArn: KMS, roleArn: 'arn:aws:iam::123456789012:role/reader' }, { source: 's3', trailBucket: 'plain-bucket', notifications: 'eventbridge' }];
    for (const o of options) {
      const { app } = build(o);
      const found = nagPacks(app).flatMap((p) => p.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)));
      expect(found).toEqual([]);
    }
  });
});

describe('test connection of the trail-file source', () => {
  it('may list CloudTrail public keys, for its trailDigests check', () => {
    const { template } = build(AUDIT);
    const roleId = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('TrailFilesTestConnection'))!;
    expect(roleId).toBeDefined();
    const statements = roleStatements(template, roleId);
    expect(statements.find((s) => s.Sid === 'DigestPublicKeys')).toMatchObject({ Action: 'cloudtrail:ListPublicKeys', Resource: '*' });
  });
});
