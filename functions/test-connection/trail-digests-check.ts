/**
 * Test connection, source s3: is log file validation on for the trail (digest files under the
 * prefix), and can the audit read and verify them with the connector's access? Validation off is
 * a warning, not a failure: forwarding works without it, only the audit's proof is missing.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { Connector } from '../core/connector';
import { PublicKeyDirectory } from '../core/digest/public-keys';
import { credentialsFor } from '../core/source/credentials';
import { s3ClientFor } from '../core/source/trail-files/s3-client';
import { probeLogFileValidation } from '../core/digest/validation-probe';
import { failedCheck, passedCheck, timed, type CheckResult } from './checks';
import { classifyAwsError, DNIF } from './error-codes';

export function trailDigestsCheck(connector: Connector, trail: { bucket: string; prefix: string }, timeoutMs: number): Promise<CheckResult> {
  const region = connector.regions[0];
  return timed(
    timeoutMs,
    async () => {
      const nowMs = Date.now();
      const keys = new PublicKeyDirectory((r) => new CloudTrailClient({ region: r, credentials: credentialsFor(connector.aws, r), maxAttempts: 1 }), { start: new Date(nowMs - 3 * 86_400_000), end: new Date(nowMs) });
      const probe = await probeLogFileValidation(s3ClientFor(connector), trail.bucket, trail.prefix, keys, nowMs);
      if (!probe.validationOn) {
        return passedCheck('trailDigests', `Log file validation looks off: ${probe.problem}`, {
          warnings: ['Without digest files the hourly audit cannot prove that every trail file reached DNIF: turn on log file validation on the trail (docs/audit.md).'],
        });
      }
      if (!probe.verified) {
        return failedCheck('trailDigests', {
          code: 'DigestInvalid',
          message: `The newest digest file ${probe.digestKey} does not verify: ${probe.problem}`,
          hint: 'A digest that is not CloudTrail\'s is possible tampering (docs/audit.md, AuditInvalid); if the bucket or prefix was copied, point the stack at the trail\'s own bucket.',
          dnifMessage: DNIF.configuration,
        });
      }
      return passedCheck('trailDigests', `Log file validation is on: the newest digest file (${probe.digestAgeMinutes} min old) was read and its CloudTrail signature verified`);
    },
    (err) => failedCheck('trailDigests', classifyAwsError(err, { action: 's3:GetObject on CloudTrail-Digest/ and cloudtrail:ListPublicKeys', region })),
  );
}
