/**
 * Issue 15, "Many connectors in one stack": three connectors (two Event history, one trail-file)
 * in one synth. Pinned: two schedules; one trail-file queue and its dead-letter queue sized from
 * the S3 forwarder; partial batch failures; alarms per connector on the one topic and dashboard;
 * least privilege per connector (each function reads only its own connector's secret and only
 * its source); cdk-nag clean.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { CloudTrailToDnifProps } from '../../infra/cloudtrail-to-dnif-props';
import { ForwarderStack } from '../../infra/forwarder-stack';
import { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR } from '../../infra/s3-source';
import { nagPacks } from '../../infra/nag';
import { actionsOf, allPolicyStatements, asArray, build, logicalId, props, roleStatements, type Statement } from './helpers';

const ARN_PROD = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif/prod-AbCdEf';
const ARN_AUDIT = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif/audit-GhIjKl';
const TRAIL_KEY = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const OPTIONS: CloudTrailToDnifProps = {
  alarmEmail: 'ops@example.com',
  connectors: [
    { name: 'prod', secretArn: ARN_PROD, scheduleMinutes: 5, regions: ['us-east-1'] },
    { name: 'audit', secretArn: ARN_AUDIT, scheduleMinutes: 10 },
    {
      name: 'org-trail',
      source: 's3',
      secretName: 'dnif/org-trail',
      trailBucket: 'arn:aws:s3:::org-log-archive',
      trailPrefix: 'org',
      trailKmsKeyArn: TRAIL_KEY,
      notifications: 'eventbridge',
      maxConcurrency: 4,
      s3FunctionTimeoutSeconds: 120,
    },
  ],
};
const { app, template } = build(OPTIONS);

const fnId = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
const env = (prefix: string): Record<string, unknown> => props(template, 'AWS::Lambda::Function', prefix).Environment.Variables;
const TRAIL = 'ConnectororgtrailTrailFiles';
const trailSecretId = logicalId(template, 'AWS::SecretsManager::Secret', 'ConnectororgtrailConnectorSecret');
const mentions = (statements: Statement[], needle: string) => statements.filter((s) => JSON.stringify(s.Resource).includes(needle));
const secretReads = (statements: Statement[]) => statements.filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));

describe('three connectors: prod and audit (Event history), org-trail (trail files)', () => {
  it('has one schedule per Event history connector and none for the trail-file one (only its hourly audit)', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const targetOf = (r: (typeof rules)[number]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] as string;
    const schedules = rules.filter((r) => r.Properties.ScheduleExpression && targetOf(r) === fnId('ForwarderFunction'));
    expect(schedules.map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['rate(10 minutes)', 'rate(5 minutes)']);
    const audits = rules.filter((r) => r.Properties.ScheduleExpression && targetOf(r) !== fnId('ForwarderFunction'));
    expect(audits.map((r) => [r.Properties.ScheduleExpression, targetOf(r)])).toEqual([['rate(1 hour)', fnId('ConnectororgtrailTrailAuditFunction')]]);
    // notifications=eventbridge: the one other rule routes Object Created to the trail queue.
    const routes = rules.filter((r) => !r.Properties.ScheduleExpression);
    expect(routes).toHaveLength(1);
    expect(routes[0].Properties.EventPattern).toMatchObject({ 'detail-type': ['Object Created'], detail: { object: { key: [{ prefix: 'org/AWSLogs/' }] } } });
  });

  it('shares one table, topic and dashboard; the Event history functions plus the trail connector\'s own three', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    // Forwarder and test connection; the trail connector's S3 forwarder, test connection and audit.
    template.resourceCountIs('AWS::Lambda::Function', 5);
    const table = { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'Checkpoints') };
    expect(env('ForwarderFunction').CHECKPOINT_TABLE).toEqual(table);
    expect(env(`${TRAIL}ForwarderFunction`).CHECKPOINT_TABLE).toEqual(table);
  });

  it('has one trail-file queue: visibility 6x the S3 forwarder timeout, dead-letter queue after 5 receives', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    // The Event history dead-letter queue, the trail-file queue and its own dead-letter queue, the audit schedule's.
    expect(Object.keys(queues)).toHaveLength(4);
    const redriven = Object.entries(queues).filter(([, q]) => q.Properties.RedrivePolicy);
    expect(redriven).toHaveLength(1);
    const [queueId, queue] = redriven[0];
    expect(queueId.startsWith(`${TRAIL}TrailFileQueue`)).toBe(true);
    const timeout = props(template, 'AWS::Lambda::Function', `${TRAIL}ForwarderFunction`).Timeout;
    expect(timeout).toBe(120);
    expect([VISIBILITY_FACTOR, MAX_RECEIVE_COUNT]).toEqual([6, 5]); // the contract's figures
    expect(queue.Properties).toMatchObject({
      VisibilityTimeout: 720,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', `${TRAIL}DeadLetterQueue`), 'Arn'] } },
      SqsManagedSseEnabled: true,
    });
  });

  it('maps the queue to the S3 forwarder alone, with ReportBatchItemFailures and the concurrency cap', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId(`${TRAIL}ForwarderFunction`) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
  });

  it('gives each function its own connector: SECRET_ID, CONNECTOR_SECRET_IDS, METRICS_CONNECTOR', () => {
    expect(env('ForwarderFunction').SECRET_ID).toBe(ARN_PROD);
    expect(env(`${TRAIL}ForwarderFunction`)).toMatchObject({ SECRET_ID: { Ref: trailSecretId }, METRICS_CONNECTOR: 'org-trail', DNIF_OUTAGE_TOLERANCE_HOURS: '24' });
    expect(env(`${TRAIL}TestConnectionFunction`)).toMatchObject({ SECRET_ID: { Ref: trailSecretId }, SOURCE: 's3', TRAIL_BUCKET: 'org-log-archive', TRAIL_PREFIX: 'org' });
    // ?connector= on the Event history URL picks only its own connectors.
    const ids = JSON.stringify(env('TestConnectionFunction').CONNECTOR_SECRET_IDS);
    expect(ids).toContain(ARN_PROD);
    expect(ids).toContain(ARN_AUDIT);
    expect(ids).not.toContain('org-trail');
  });

  it('alarms per connector, all on the one topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const named = (id: string) => alarms.find((a) => a.AlarmName === `Test-${id}`);
    for (const id of ['prod-LagHigh', 'prod-SinkErrors', 'prod-RunsFailed', 'audit-LagHigh', 'audit-SinkErrors', 'audit-RunsFailed']) expect(named(id)).toBeDefined();
    for (const id of ['ForwarderErrors', 'ForwarderThrottled', 'ForwarderNotRunning', 'DeadLetters', 'TestConnectionErrors', 'QueueAgeHigh', 'ObjectReadErrors']) {
      expect([id, named(`org-trail-${id}`)?.AlarmActions]).toEqual([id, [{ Ref: logicalId(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') }]]);
    }
    // The trail connector's alarms watch its own function, queues and metric dimension.
    expect(JSON.stringify(named('org-trail-ForwarderErrors')?.Dimensions)).toContain(fnId(`${TRAIL}ForwarderFunction`));
    expect(JSON.stringify(named('org-trail-DeadLetters')?.Dimensions)).toContain(`${TRAIL}DeadLetterQueue`);
    expect(JSON.stringify(named('org-trail-QueueAgeHigh')?.Dimensions)).toContain(`${TRAIL}TrailFileQueue`);
    expect(named('org-trail-ObjectReadErrors')?.Dimensions).toEqual(expect.arrayContaining([{ Name: 'connector', Value: 'org-trail' }]));
    // Its audit's too: on its own totals (dimension connector), its own function.
    for (const id of ['AuditInvalid', 'AuditMissing', 'TrailLoggingStopped', 'TrailDeliveryErrors', 'NoRecentDigest', 'AuditNotRunning', 'AuditRunErrors']) {
      expect([id, named(`org-trail-${id}`)?.AlarmDescription]).toEqual([id, expect.stringContaining(`(connector org-trail). Runbook: docs/audit.md, "${id}".`)]);
    }
    expect(named('org-trail-AuditMissing')?.Dimensions).toEqual(expect.arrayContaining([{ Name: 'connector', Value: 'org-trail' }]));
    expect(env('ConnectororgtrailTrailAuditFunction')).toMatchObject({ METRICS_CONNECTOR: 'org-trail', SECRET_ID: { Ref: trailSecretId }, AUDIT_BUCKET: 'org-log-archive', AUDIT_PREFIX: 'org' });
    // And the plain Event history alarms watch the shared forwarder.
    expect(JSON.stringify(named('ForwarderErrors')?.Dimensions)).toContain(fnId('ForwarderFunction'));
  });

  it('gives the trail connector its row on the shared dashboard, and its alarms in the status widget', () => {
    const body = JSON.stringify(props(template, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard').DashboardBody);
    expect(body).toContain('Trail files: org-trail');
    expect(body).toContain('Trail-file queue: org-trail');
    expect(body).toContain(logicalId(template, 'AWS::CloudWatch::Alarm', 'MonitoringorgtrailQueueAgeHigh'));
  });

  it('lets the S3 forwarder read only the trail prefix, decrypt only through S3, and read only its own secret', () => {
    const s3fn = roleStatements(template, `${TRAIL}ForwarderRole`);
    expect(s3fn.find((s) => s.Sid === 'ReadTrailFiles')).toMatchObject({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::org-log-archive/org/AWSLogs/*' });
    expect(s3fn.find((s) => s.Sid === 'ListTrailFiles')?.Condition).toEqual({ StringLike: { 's3:prefix': ['org/AWSLogs/*'] } });
    // kms:Decrypt twice, each only through its service: the trail key through S3, the created secret's key through Secrets Manager.
    const decrypt = s3fn.filter((s) => asArray(s.Action).includes('kms:Decrypt'));
    expect(decrypt).toHaveLength(2);
    for (const st of decrypt) expect(JSON.stringify(st.Condition)).toContain('kms:ViaService');
    expect(decrypt.filter((st) => st.Resource === TRAIL_KEY)).toEqual([expect.objectContaining({ Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } } })]);
    expect(JSON.stringify(decrypt.find((st) => st.Resource !== TRAIL_KEY))).toContain('ConnectororgtrailConnectorKey');
    expect(actionsOf(s3fn).filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(actionsOf(s3fn)).not.toContain('cloudtrail:LookupEvents');
    expect(JSON.stringify(secretReads(s3fn))).toContain(trailSecretId);
    expect(mentions(s3fn, 'dnif/prod').concat(mentions(s3fn, 'dnif/audit'))).toEqual([]);
  });

  it('keeps the Event history functions off the trail: no S3, no trail key, no trail secret', () => {
    for (const role of ['ForwarderRole', 'TestConnectionRole']) {
      const statements = roleStatements(template, role);
      expect(actionsOf(statements).filter((a) => a.startsWith('s3:') || a === 'kms:Decrypt')).toEqual([]);
      expect(mentions(statements, trailSecretId)).toEqual([]);
      expect(JSON.stringify(secretReads(statements))).toContain('dnif/prod');
    }
    expect(allPolicyStatements(template).flatMap((s) => asArray(s.Action))).not.toContain('s3:*');
  });

  it('has no unacknowledged AwsSolutions or Serverless finding', () => {
    const findings = nagPacks(app).flatMap((pack) => pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)));
    expect(findings).toEqual([]);
  });

  it('outputs the trail connector\'s queue, roles and URL beside the Event history outputs', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(expect.arrayContaining([
      'TestConnectionUrl', 'ForwarderRoleArn', 'ScheduleRuleNameprod', 'ScheduleRuleNameaudit', 'ConnectorSecretArnorgtrail',
      'TrailQueueArnorgtrail', 'TrailDeadLetterQueueUrlorgtrail', 'TestConnectionUrlorgtrail', 'ForwarderRoleArnorgtrail', 'TestConnectionRoleArnorgtrail',
    ]));
    expect(outputs).not.toContain('ScheduleRuleNameorgtrail');
  });

  it('grants a URL caller every test-connection function, through a function URL only', () => {
    const stack = new ForwarderStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test', OPTIONS);
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    stack.forwarder.grantInvokeTestConnectionUrl(caller);
    const statements = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    // Same options, same logical ids as `template`.
    const callerPolicy = Object.entries(statements).find(([id]) => id.startsWith('CallerDefaultPolicy'))?.[1];
    const doc = callerPolicy?.Properties.PolicyDocument as { Statement: Statement[] };
    const urlTargets = [fnId('TestConnectionFunction'), fnId(`${TRAIL}TestConnectionFunction`)];
    for (const [action, condition] of [
      ['lambda:InvokeFunctionUrl', { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } }],
      ['lambda:InvokeFunction', { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } }],
    ] as const) {
      const st = doc.Statement.find((s) => s.Action === action);
      expect(st?.Condition).toEqual(condition);
      expect(asArray(st?.Resource).map((r) => JSON.stringify(r))).toEqual(urlTargets.map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })));
    }
  });
});

describe('trail-file connectors only', () => {
  const { template: t } = build({
    connectors: [
      { name: 'org', source: 's3', trailBucket: 'org-log-archive', notifications: 'external' },
      { name: 'data', source: 's3', trailBucket: 'data-events', trailPrefix: 'x', notifications: 'external' },
    ],
  });

  it('has no forwarder schedule and no Event history forwarder: per connector a queue, its dead-letter queue, three functions and an hourly audit', () => {
    expect(Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 hour)', 'rate(1 hour)']);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    t.resourceCountIs('AWS::SQS::Queue', 6);
    t.resourceCountIs('AWS::Lambda::Function', 6);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ METRICS_CONNECTOR: 'data', SECRET_ID: Match.anyValue() }) } });
    expect(Object.keys(t.findOutputs('*'))).not.toContain('ForwarderFunctionName');
  });
});
