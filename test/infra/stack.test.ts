/**
 * The default stack, bundled for real with the local esbuild: functions, schedule, DLQ,
 * table, secret, URL and outputs.
 */
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';
import { Match } from 'aws-cdk-lib/assertions';
import { loadForwarderConfig, loadSecretId } from '../../functions/core/config';
import { parseConnector } from '../../functions/core/connector';
import { PLACEHOLDER_CONNECTOR } from '../../functions/core/contract';
import { build, logicalId, props } from './helpers';

const { app, template } = build({}, { bundle: true });
const fn = (prefix: string) => props(template, 'AWS::Lambda::Function', prefix);
const forwarderId = logicalId(template, 'AWS::Lambda::Function', 'ForwarderFunction');
const dlqId = logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue');

/** Environment values with CloudFormation references replaced by plausible strings. */
function plainEnv(vars: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]));
}

describe('forwarder function', () => {
  const f = fn('ForwarderFunction');

  it('runs Node.js 22 on arm64 with explicit memory, timeout and tracing', () => {
    expect(f.Runtime).toBe('nodejs22.x');
    expect(f.Architectures).toEqual(['arm64']);
    expect(f.MemorySize).toBe(512);
    expect(f.Timeout).toBe(270); // 5-minute schedule minus 30 s
    expect(f.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('reserves exactly one concurrent execution so runs cannot pile up', () => {
    expect(f.ReservedConcurrentExecutions).toBe(1);
  });

  it('sets exactly the SPEC environment plus Powertools settings', () => {
    const env = f.Environment.Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        'SECRET_ID', 'CHECKPOINT_TABLE', 'LATENESS_SECONDS', 'BACKFILL_SECONDS', 'BATCH_MAX_EVENTS', 'BATCH_MAX_BYTES',
        'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL', 'NODE_OPTIONS',
      ].sort(),
    );
    expect(env).toMatchObject({
      SECRET_ID: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'ConnectorSecret') },
      CHECKPOINT_TABLE: { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'Checkpoints') },
      LATENESS_SECONDS: '900',
      BACKFILL_SECONDS: '3600',
      BATCH_MAX_EVENTS: '500',
      BATCH_MAX_BYTES: '1000000',
      POWERTOOLS_SERVICE_NAME: 'cloudtrail-dnif-forwarder',
      POWERTOOLS_METRICS_NAMESPACE: 'CloudTrailToDnif',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('is accepted by the function code own config loader', () => {
    const config = loadForwarderConfig(plainEnv(f.Environment.Variables));
    expect(config).toMatchObject({ latenessSeconds: 900, backfillSeconds: 3600, batchMaxEvents: 500, batchMaxBytes: 1_000_000 });
  });

  it('writes to its own log group, kept one year', () => {
    const logsId = logicalId(template, 'AWS::Logs::LogGroup', 'ForwarderLogs');
    expect(f.LoggingConfig).toEqual({ LogGroup: { Ref: logsId } });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
  });

  it('is not retried on failure and sends failed runs to the DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: forwarderId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
    });
  });
});

describe('schedule', () => {
  it('runs the forwarder every 5 minutes, with undeliverable events going to the DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [forwarderId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
        }),
      ],
    });
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and refuses non-TLS requests', () => {
    expect(props(template, 'AWS::SQS::Queue', 'DeadLetterQueue')).toMatchObject({ SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('checkpoint table', () => {
  const table = template.findResources('AWS::DynamoDB::Table');

  it('has the SPEC key schema: partition key pk (string) and nothing else', () => {
    const p = props(template, 'AWS::DynamoDB::Table', 'Checkpoints');
    expect(p.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(p.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(p.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('is on-demand, encrypted, point-in-time recoverable, expires items on expiresAt', () => {
    expect(props(template, 'AWS::DynamoDB::Table', 'Checkpoints')).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('is retained when the stack is deleted or the table replaced', () => {
    expect(Object.values(table)[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('connector secret', () => {
  const secret = props(template, 'AWS::SecretsManager::Secret', 'ConnectorSecret');

  it('is created with a REPLACE_ME placeholder under a customer managed key', () => {
    expect(JSON.parse(secret.SecretString)).toEqual(PLACEHOLDER_CONNECTOR);
    expect(secret.SecretString).not.toMatch(/AKIA|Bearer/);
    expect(secret.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'ConnectorKey'), 'Arn'] });
    expect(secret.Name).toBe('Test/connector');
  });

  it('has the shape the connector parser accepts once the placeholders are filled in', () => {
    const filled = {
      ...PLACEHOLDER_CONNECTOR,
      connectorName: 'prod-cloudtrail',
      awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      awsSecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      awsRegion: 'us-east-1',
      dnif: { url: 'https://dnif.example.net/events', token: 'example-token' },
    };
    expect(parseConnector(filled).name).toBe('prod-cloudtrail');
  });

  it('rotates the key that encrypts it', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('connector') });
  });
});

describe('test-connection function', () => {
  const f = fn('TestConnectionFunction');

  it('runs Node.js 22 on arm64, 15 s timeout, X-Ray on', () => {
    expect(f).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 15, TracingConfig: { Mode: 'Active' } });
    expect(f.ReservedConcurrentExecutions).toBe(2);
  });

  it('gets the secret and its own Powertools service name', () => {
    const env = f.Environment.Variables;
    expect(env).toMatchObject({
      SECRET_ID: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'ConnectorSecret') },
      POWERTOOLS_SERVICE_NAME: 'cloudtrail-dnif-test-connection',
      POWERTOOLS_METRICS_NAMESPACE: 'CloudTrailToDnif',
    });
    expect(env.CHECKPOINT_TABLE).toBeUndefined();
    expect(loadSecretId(plainEnv(env))).toBe('resolved-SECRET_ID');
  });

  it('has a function URL that requires IAM (SigV4) by default and no public permission', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    const publicPermissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === '*',
    );
    expect(publicPermissions).toEqual([]);
  });
});

describe('outputs', () => {
  it('exports the URL, secret, table, dashboard and topic', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'TestConnectionUrl', 'ConnectorSecretArn', 'CheckpointTableName', 'DashboardUrl', 'AlarmTopicArn',
        'TestConnectionFunctionArn', 'ForwarderRoleArn', 'TestConnectionRoleArn',
      ]),
    );
  });
});

describe('bundles', () => {
  const assembly = app.synth();
  const codeDir = (prefix: string) => {
    // The code asset is staged as asset.<hash>, uploaded as <hash>.zip.
    const key: string = fn(prefix).Code.S3Key;
    return path.join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  };

  it.each(['ForwarderFunction', 'TestConnectionFunction'])('%s is a minified CommonJS bundle with a source map', (prefix) => {
    const dir = codeDir(prefix);
    expect(fs.readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
  });

  // Optional signers the AWS SDK probes inside try/catch (SigV4a, CRT); nothing here uses them.
  const optionalSdkProbes = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);

  it.each(['ForwarderFunction', 'TestConnectionFunction'])('%s requires nothing but Node built-ins (SDK bundled)', (prefix) => {
    const code = fs.readFileSync(path.join(codeDir(prefix), 'index.js'), 'utf8');
    const required = [...code.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    const builtins = new Set(builtinModules);
    expect(required.filter((m) => !m.startsWith('node:') && !builtins.has(m) && !optionalSdkProbes.has(m))).toEqual([]);
  });
});

describe('transport rules (issue 11 #7)', () => {
  it('no function of the stack, with any options, is allowed plain http or syslog without TLS', () => {
    const variants = [template, build({ functionUrlAuth: 'NONE', memorySize: 1024, latenessSeconds: 1800 }).template];
    for (const t of variants) {
      expect(JSON.stringify(t.toJSON())).not.toContain('DNIF_ALLOW_LOOPBACK_PLAINTEXT');
      const functions = Object.values(t.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
      expect(functions.length).toBeGreaterThan(0);
      for (const f of functions) expect(Object.keys(f.Properties.Environment?.Variables ?? {})).not.toContain('DNIF_ALLOW_LOOPBACK_PLAINTEXT');
    }
  });
});
