/**
 * cdk-nag 3 runs as a CDK policy-validation plugin; a finding is acknowledged with CDK's own
 * Validations API (cdk-nag 3 removed NagSuppressions). Each acknowledgement names one finding
 * on one construct and says why it is acceptable.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * The packs this project holds itself to. One of them also copies every acknowledgement into
 * the template's resource Metadata (`cdk_nag`), so the reasons travel with what is deployed.
 */
export function nagPacks(scope: IConstruct): NagPack[] {
  return [
    new AwsSolutionsChecks(scope, { verbose: true, writeSuppressionsToCloudFormation: true }),
    new ServerlessChecks(scope, { verbose: true }),
  ];
}

/** Run the packs on every synth of `app`; an unacknowledged error fails the synth. */
export function addNagChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}
