/**
 * A cdk-nag finding acknowledged with CDK's own Validations API (cdk-nag 3 runs as a policy
 * validation plugin: infra/nag.ts). Kept apart from nag.ts so the construct needs no cdk-nag.
 */
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Acknowledge one finding on the CloudFormation resource behind `scope` (an L2's default
 * child), not on the whole subtree, so it cannot silence the same rule on a sibling.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope.node.defaultChild ?? scope).acknowledge({ id, reason });
}
