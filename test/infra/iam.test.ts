/** Least privilege, pinned statement by statement. */
import { Template } from 'aws-cdk-lib/assertions';
import { Statement, actionsOf, allPolicyStatements, asArray, build, logicalId, roleStatements } from './helpers';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/cloudtrail-reader';
const defaults = build().template;
const configured = build({
  roleArn: ROLE_ARN,
  regions: ['us-east-1', 'eu-west-1'],
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/dnif-connector-AbC123',
  secretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
}).template;

const withAction = (statements: Statement[], action: string) => statements.filter((s) => asArray(s.Action).includes(action));

describe.each([
  ['default', defaults],
  ['configured', configured],
])('%s stack', (_name, template: Template) => {
  const statements = allPolicyStatements(template);

  it('has no wildcard in any action', () => {
    for (const action of statements.flatMap((s) => asArray(s.Action))) expect(action).not.toContain('*');
  });

  it('allows, never denies, in identity policies, and attaches no managed policy', () => {
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
  });

  it('uses Resource "*" only where the service has no resource types: LookupEvents and X-Ray', () => {
    const starred = statements.filter((s) => asArray(s.Resource).includes('*'));
    expect(actionsOf(starred)).toEqual(['cloudtrail:LookupEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('gives the forwarder exactly what it needs', () => {
    const forwarder = roleStatements(template, 'ForwarderRole');
    const expected = [
      'cloudtrail:LookupEvents',
      'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
      'kms:Decrypt',
      'logs:CreateLogStream', 'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
    ];
    if (template === configured) expected.push('sts:AssumeRole');
    expect(actionsOf(forwarder)).toEqual(expected.sort());
  });

  it('gives test-connection the secret, LookupEvents and the connector role, and no table access', () => {
    const expected = [
      'cloudtrail:LookupEvents', 'kms:Decrypt', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'secretsmanager:GetSecretValue', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
    ];
    if (template === configured) expected.push('sts:AssumeRole');
    expect(actionsOf(roleStatements(template, 'TestConnectionRole'))).toEqual(expected.sort());
  });

  it('scopes the table actions to the checkpoint table itself (no index, no other table)', () => {
    const tableId = logicalId(template, 'AWS::DynamoDB::Table', 'Checkpoints');
    const dynamo = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0].Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
  });

  it('scopes log writes to each function own log group', () => {
    for (const name of ['Forwarder', 'TestConnection']) {
      const logs = withAction(roleStatements(template, `${name}Role`), 'logs:PutLogEvents');
      expect(logs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', `${name}Logs`), 'Arn'] }]);
    }
  });

  it('lets only the forwarder send to the DLQ, and only SendMessage', () => {
    const dlqId = logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue');
    const sqs = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('sqs:')));
    expect(sqs).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] } })]);
    expect(withAction(roleStatements(template, 'TestConnectionRole'), 'sqs:SendMessage')).toEqual([]);
  });
});

describe('default stack', () => {
  const statements = allPolicyStatements(defaults);

  it('reads only the secret it created, decrypting through Secrets Manager only', () => {
    const secretId = logicalId(defaults, 'AWS::SecretsManager::Secret', 'ConnectorSecret');
    for (const s of withAction(statements, 'secretsmanager:GetSecretValue')) expect(s.Resource).toEqual({ Ref: secretId });
    const decrypt = withAction(statements, 'kms:Decrypt');
    expect(decrypt).toHaveLength(2);
    for (const s of decrypt) {
      expect(s.Resource).toEqual({ 'Fn::GetAtt': [logicalId(defaults, 'AWS::KMS::Key', 'ConnectorKey'), 'Arn'] });
      expect(JSON.stringify(s.Condition)).toContain('kms:ViaService');
    }
  });

  it('grants no sts:AssumeRole when no roleArn is configured', () => {
    expect(withAction(statements, 'sts:AssumeRole')).toEqual([]);
  });

  it('lets LookupEvents reach any region when regions are not configured', () => {
    for (const s of withAction(statements, 'cloudtrail:LookupEvents')) expect(s.Condition).toBeUndefined();
  });
});

describe('configured stack', () => {
  const statements = allPolicyStatements(configured);

  it('assumes exactly the configured role, from both functions', () => {
    const assume = withAction(statements, 'sts:AssumeRole');
    expect(assume).toHaveLength(2);
    for (const s of assume) expect(s.Resource).toBe(ROLE_ARN);
  });

  it('narrows LookupEvents to the configured regions', () => {
    const lookup = withAction(statements, 'cloudtrail:LookupEvents');
    expect(lookup).toHaveLength(2);
    for (const s of lookup) {
      expect(s.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } });
    }
  });

  it('reads the imported secret by its complete ARN and decrypts with its key via Secrets Manager in its region', () => {
    configured.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const s of withAction(statements, 'secretsmanager:GetSecretValue')) {
      expect(s.Resource).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/dnif-connector-AbC123');
    }
    for (const s of withAction(statements, 'kms:Decrypt')) {
      expect(s.Resource).toBe('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      expect(s.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } });
    }
  });
});

describe('imported secret by partial ARN, AWS managed key', () => {
  const template = build({ secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/dnif' }).template;
  const statements = allPolicyStatements(template);

  it('matches only the six-character suffix Secrets Manager appends', () => {
    for (const s of withAction(statements, 'secretsmanager:GetSecretValue')) {
      expect(s.Resource).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/dnif-??????');
    }
  });

  it('needs no kms:Decrypt and creates no key', () => {
    expect(withAction(statements, 'kms:Decrypt')).toEqual([]);
    expect(Object.keys(template.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('Connector'))).toEqual([]);
  });
});
