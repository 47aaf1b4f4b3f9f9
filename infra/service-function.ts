/**
 * A Lambda function the way this project runs them: Node.js 22 on arm64, bundled locally by
 * esbuild, its own role with no managed policy, its own log group, X-Ray on.
 */
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export const REPO_ROOT = path.resolve(__dirname, '..');

export interface ServiceFunctionProps {
  /** Handler file, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions: number;
  readonly logRetentionDays: number;
  readonly environment: Record<string, string>;
}

export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
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

    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
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

    // Tracing: ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords to the default policy.
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      acknowledge(
        defaultPolicy,
        'AwsSolutions-IAM5[Resource::*]',
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource "*": X-Ray defines no resource ' +
          'types for them, so they cannot be scoped. Every other statement in this policy names its resource.',
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
