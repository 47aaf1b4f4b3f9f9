/**
 * The stack for the trail-file source (`-c source=s3`): the connector secret and the checkpoint
 * table (the object ledger) as the Event history stack has them, and the S3Source construct in
 * place of the schedule. The shared options (memory, logs, alarms, batches, the secret, roleArn)
 * are checked by the same resolveSettings as the default stack.
 */
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { createCheckpointTable } from './checkpoint-table';
import type { CloudTrailToDnifProps } from './cloudtrail-to-dnif-props';
import { ConnectorSecret } from './connector-secret';
import { S3Source } from './s3-source';
import { resolveS3Settings, type S3SourceOptions } from './s3-settings';
import { resolveSettings } from './settings';
import { TrailAudit, resolveTrailAudit } from './trail-audit';

export interface TrailFilesStackProps extends StackProps, Omit<CloudTrailToDnifProps, 'source'>, S3SourceOptions {}

export class TrailFilesStack extends Stack {
  readonly source: S3Source;

  constructor(scope: Construct, id: string, props: TrailFilesStackProps) {
    super(scope, id, props);
    const trail = resolveS3Settings({ ...props, source: 's3' });
    const shared = Object.fromEntries(Object.entries(props).filter(([k]) => !S3_KEYS.has(k))) as CloudTrailToDnifProps;
    const settings = resolveSettings(shared);
    const c = settings.connectors[0];
    const connector = new ConnectorSecret(this, 'Connector', {
      existingSecret: c.existingSecret,
      secretArn: c.secretArn,
      secretKmsKeyArn: c.secretKmsKeyArn,
      secretName: c.secretName ?? `${this.stackName}/connector`,
    });
    const table = createCheckpointTable(this);
    this.source = new S3Source(this, 'TrailFiles', { settings, s3: trail as NonNullable<typeof trail>, connector, table, roleArn: c.roleArn });
    // The hourly audit that proves from CloudTrail's digests that every file was delivered (infra/trail-audit.ts).
    new TrailAudit(this, 'TrailAudit', { ...settings, settings: resolveTrailAudit(props, trail)!, connector, table, monitoring: this.source.monitoring, testConnection: this.source.testConnection, roleArn: c.roleArn });
    new CfnOutput(this, 'ConnectorSecretArn', { value: connector.secret.secretArn, description: 'Put the connector JSON here (put-secret-value)' });
    new CfnOutput(this, 'CheckpointTableName', { value: table.tableName, description: 'DynamoDB object ledger' });
  }
}

/** Options only this stack reads (s3-settings.ts); the rest go to resolveSettings. */
export const S3_KEYS = new Set([
  'source', 'trailBucket', 'trailPrefix', 'trailKmsKeyArn', 'notifications', 'trailTopicArn', 'maxConcurrency', 's3BatchSize',
  's3FunctionTimeoutSeconds', 'outageToleranceHours', 'queueAgeAlarmSeconds', 'auditLookbackHours',
]);
