/**
 * The connector secret (SPEC.md, "The connector secret"): created with a placeholder that
 * the operator overwrites with `put-secret-value`, or an existing one imported by ARN.
 */
import { Aws, SecretValue, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_CONNECTOR } from '../functions/core/contract';
import { acknowledge } from './acknowledge';

export interface ConnectorSecretProps {
  /** Use this secret construct as it is. */
  readonly existingSecret?: secretsmanager.ISecret;
  /** Import this secret (complete or partial ARN) instead of creating one. */
  readonly secretArn?: string;
  /** Customer managed key of the imported secret, if any. */
  readonly secretKmsKeyArn?: string;
  /** Name of the created secret. */
  readonly secretName: string;
  /** Appended to the statement ids, so several connectors' statements can share a policy. */
  readonly sidSuffix?: string;
}

/** A complete ARN ends in the 6-character suffix Secrets Manager appends to the name. */
export function isCompleteSecretArn(arn: string): boolean {
  return /-[A-Za-z0-9]{6}$/.test(arn.slice(arn.indexOf(':secret:') + ':secret:'.length));
}

export class ConnectorSecret extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** The key whose kms:Decrypt reading the secret needs; undefined for the AWS managed key. */
  private readonly keyArn?: string;
  /** The ARN as IAM must match it: a partial ARN gets Secrets Manager's `-??????` suffix. */
  private readonly policyArn: string;
  /** Region of the secret: kms:ViaService names the Secrets Manager endpoint there. */
  private readonly secretRegion: string;
  private readonly sidSuffix: string;

  constructor(scope: Construct, id: string, props: ConnectorSecretProps) {
    super(scope, id);
    this.sidSuffix = props.sidSuffix ?? '';

    if (props.existingSecret) {
      this.secret = props.existingSecret;
      this.policyArn = props.existingSecret.secretFullArn ?? `${props.existingSecret.secretArn}-??????`;
      this.keyArn = props.existingSecret.encryptionKey?.keyArn ?? props.secretKmsKeyArn;
      this.secretRegion = Stack.of(props.existingSecret).region;
      return;
    }
    if (props.secretArn) {
      const complete = isCompleteSecretArn(props.secretArn);
      this.secret = complete
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Imported', props.secretArn)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'Imported', props.secretArn);
      this.policyArn = complete ? props.secretArn : `${props.secretArn}-??????`;
      this.keyArn = props.secretKmsKeyArn;
      this.secretRegion = props.secretArn.split(':')[3];
      return;
    }

    // A customer managed key keeps the connector's credentials under a key policy of their own
    // and makes every decrypt an auditable CloudTrail event naming this key.
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the CloudTrail-to-DNIF connector secret',
      enableKeyRotation: true,
    });
    const secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: props.secretName,
      description:
        'CloudTrail-to-DNIF connector (SPEC.md schema). Holds a REPLACE_ME placeholder until you run ' +
        '`aws secretsmanager put-secret-value` (docs/deploy.md).',
      encryptionKey: key,
      // Not a secret: every value is REPLACE_ME. The real connector never passes through CDK.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_CONNECTOR)),
    });
    acknowledge(
      secret,
      'AwsSolutions-SMG4',
      'The secret holds credentials issued outside AWS Secrets Manager (a DNIF connector token and an IAM ' +
        'access key owned by the DNIF connector user); no rotation Lambda can re-issue them. They are rotated ' +
        'by the operator with put-secret-value (docs/deploy.md), and the function re-reads the secret every few minutes.',
    );
    this.secret = secret;
    this.policyArn = secret.secretArn;
    this.keyArn = key.keyArn;
    this.secretRegion = Aws.REGION;
  }

  /** secretsmanager:GetSecretValue on this secret only, and kms:Decrypt through Secrets Manager only. */
  readStatements(): iam.PolicyStatement[] {
    const statements = [
      new iam.PolicyStatement({
        sid: `ReadConnectorSecret${this.sidSuffix}`,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.policyArn],
      }),
    ];
    if (this.keyArn) {
      statements.push(
        new iam.PolicyStatement({
          sid: `DecryptConnectorSecret${this.sidSuffix}`,
          actions: ['kms:Decrypt'],
          resources: [this.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.secretRegion}.amazonaws.com` } },
        }),
      );
    }
    return statements;
  }

  /** What the functions get as SECRET_ID: the ARN, so a same-named secret elsewhere is never read. */
  get secretId(): string {
    return this.secret.secretArn;
  }
}
