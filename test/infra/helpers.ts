/** Shared set-up for the infra tests: build a stack from options, read its template. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ForwarderStack } from '../../infra/forwarder-stack';
import type { CloudTrailToDnifProps } from '../../infra/cloudtrail-to-dnif-props';

export interface Built {
  app: App;
  stack: ForwarderStack;
  template: Template;
}

/**
 * A stack as `cdk synth` would build it from these options. Bundling (esbuild) is skipped
 * unless asked for: the template is the same, only the asset hash differs.
 */
export function build(options: CloudTrailToDnifProps = {}, { bundle = false } = {}): Built {
  const app = new App({ context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ForwarderStack(app, 'Test', options);
  return { app, stack, template: Template.fromStack(stack) };
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every identity-policy statement attached to the role with this logical-id prefix. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const roleId = logicalId(template, 'AWS::IAM::Role', rolePrefix);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

export function allPolicyStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );
}

export function actionsOf(statements: Statement[]): string[] {
  return [...new Set(statements.flatMap((s) => asArray(s.Action)))].sort();
}

export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** Properties of the one resource of this type whose logical id starts with `prefix`. */
export function props(template: Template, type: string, prefix: string): Record<string, any> {
  return template.findResources(type)[logicalId(template, type, prefix)].Properties;
}
