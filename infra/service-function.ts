/**
 * A Lambda function the way this project runs them: Node.js 22 on arm64, bundled locally by
 * esbuild (or pre-bundled in the npm package: lambda-code.ts), its own role with no managed
 * policy, its own log group, X-Ray on, optionally in a VPC.
 */
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_ENTRIES, prebuiltCodeDir, type LambdaName } from './lambda-code';
import { acknowledge } from './acknowledge';

export const REPO_ROOT = path.resolve(__dirname, '..');

export interface ServiceFunctionProps {
  /** Which handler (lambda-code.ts); it exports `handler`. */
  readonly code: LambdaName;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions: number;
  readonly logRetentionDays: number;
  readonly environment: Record<string, string>;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export class ServiceFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      // Logs are the audit trail of what was shipped; they outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may create and
    // write any log group in the account, this one writes only to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    const common: lambda.FunctionOptions & { runtime: lambda.Runtime } = {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      vpc: props.vpc,
      vpcSubnets: props.vpc ? props.vpcSubnets : undefined,
      securityGroups: props.vpc ? props.securityGroups : undefined,
    };
    const prebuilt = prebuiltCodeDir(props.code);
    this.fn = prebuilt
      ? new lambda.Function(this, 'Function', { ...common, code: lambda.Code.fromAsset(prebuilt), handler: 'index.handler' })
      : new NodejsFunction(this, 'Function', {
          ...common,
          entry: path.join(REPO_ROOT, LAMBDA_ENTRIES[props.code]),
          handler: 'handler',
          projectRoot: REPO_ROOT,
          depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
          bundling: {
            format: OutputFormat.CJS,
            target: 'node22',
            minify: true,
            sourceMap: true,
            sourcesContent: false,
            logLevel: LogLevel.WARNING,
            // The AWS SDK v3 clients are bundled, not taken from the runtime: the function then runs
            // the exact versions package-lock.json pins and the tests ran, and a runtime SDK update
            // cannot change its behaviour. esbuild tree-shakes and minifies them, so the cold-start
            // cost is small. Nothing else is external: everything the code imports is in the zip.
            bundleAwsSDK: true,
            externalModules: [],
          },
        });
    if (props.vpc) {
      // In a VPC Lambda manages network interfaces with the role: the permissions
      // AWSLambdaVPCAccessExecutionRole grants, without the managed policy (AwsSolutions-IAM4).
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'VpcNetworkInterfaces',
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      );
    }

    // Tracing: ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords to the default policy.
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      acknowledge(
        defaultPolicy,
        'AwsSolutions-IAM5[Resource::*]',
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource "*": X-Ray defines no resource ' +
          'types for them, so they cannot be scoped' +
          (props.vpc ? '; in a VPC also the ec2 network-interface actions Lambda needs, which AWS documents with Resource "*"' : '') +
          '. Every other statement in this policy names its resource.',
      );
    }
    acknowledge(
      this.fn,
      'AwsSolutions-L1',
      'Node.js 22 (nodejs22.x) is the runtime this project targets and tests on (Node 20/22 toolchain, ' +
        'esbuild target node22); it is a supported Lambda runtime. Moving to a newer one is a tested change, not a synth-time default.',
    );
    acknowledge(
      this.fn,
      'Serverless-LambdaLatestVersion',
      'Node.js 22 (nodejs22.x) is the runtime this project targets and tests on; see AwsSolutions-L1 on this function.',
    );
  }

  /** Adds the statements as a separate policy, so a finding on it can be acknowledged on its own. */
  addPolicy(id: string, statements: iam.PolicyStatement[]): iam.Policy {
    const policy = new iam.Policy(this, id, { statements });
    policy.attachToRole(this.role);
    // The function must not be created (and run) before it may do its job.
    this.fn.node.addDependency(policy);
    return policy;
  }
}
