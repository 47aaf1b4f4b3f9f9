/** The IAM statements the two functions need beyond their logs, tracing and secret. */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

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

/** The checkpoint table's items (cursors, seen EventIds, leases, the object ledger): read, conditional write, delete. No Scan, Query or batch writes. */
export function checkpointTableStatement(table: dynamodb.ITable): iam.PolicyStatement {
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

/** A given table's customer managed key, used through DynamoDB only (no wildcard actions). */
export function tableKeyStatement(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CheckpointTableKey',
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
  });
}

/** The connectors' `roleArn`s, when the operator named them at deploy time. */
export function assumeRoleStatement(roleArns: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AssumeConnectorRole',
    actions: ['sts:AssumeRole'],
    resources: roleArns,
  });
}

/**
 * What a caller of the test-connection URL (AWS_IAM auth) needs, the one place it is written
 * (docs/deploy.md shows it, and a test keeps the two equal): lambda:InvokeFunctionUrl on the
 * function, and — for function URLs created since October 2025 — lambda:InvokeFunction, but
 * only when invoked through a function URL, so the grant cannot call the function directly.
 */
export function functionUrlCallerStatements(functionArns: string | string[]): iam.PolicyStatement[] {
  const resources = Array.isArray(functionArns) ? functionArns : [functionArns];
  return [
    new iam.PolicyStatement({
      sid: 'CallTestConnectionUrl',
      actions: ['lambda:InvokeFunctionUrl'],
      resources,
      conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
    }),
    new iam.PolicyStatement({
      sid: 'InvokeTestConnectionViaUrlOnly',
      actions: ['lambda:InvokeFunction'],
      resources,
      conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    }),
  ];
}

/**
 * The on-failure destination with only sqs:SendMessage: lambda-destinations' SqsDestination
 * grants GetQueueAttributes and GetQueueUrl as well, which Lambda does not need.
 */
export function sendMessageOnlyTo(queue: sqs.IQueue): lambda.IDestination {
  return {
    bind: (_scope, fn) => {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'SendFailedRunsToDlq', actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
      return { destination: queue.queueArn };
    },
  };
}
