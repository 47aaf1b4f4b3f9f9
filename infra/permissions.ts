/** The IAM statements the two functions need beyond their logs, tracing and secret. */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * LookupEvents, used when the connector has no keys of its own (the function's role is the
 * CloudTrail reader) and by the test-connection checks. `regions` narrows it to those regions.
 */
export function lookupEventsStatement(regions?: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadCloudTrailEventHistory',
    actions: ['cloudtrail:LookupEvents'],
    // LookupEvents supports no resource-level permissions: "*" is the only valid resource.
    resources: ['*'],
    conditions: regions ? { StringEquals: { 'aws:RequestedRegion': regions } } : undefined,
  });
}

/** The checkpoint/lease items: read, conditional write, delete. No Scan, Query or batch writes. */
export function checkpointStatement(table: dynamodb.ITable): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CheckpointsAndLease',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ],
    resources: [table.tableArn],
  });
}

/** The connector's `roleArn`, when the operator named it at deploy time. */
export function assumeRoleStatement(roleArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AssumeConnectorRole',
    actions: ['sts:AssumeRole'],
    resources: [roleArn],
  });
}
