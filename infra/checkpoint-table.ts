import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * The checkpoint table of the contract (partition key `pk` string, TTL `expiresAt`): on demand,
 * PITR, encrypted, retained on delete: losing it means a re-backfill (Event history) or files
 * sent again (the trail-file ledger), i.e. duplicates in DNIF.
 */
export function createCheckpointTable(scope: Construct, id = 'Checkpoints'): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: 'expiresAt',
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
