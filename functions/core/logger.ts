import { Logger } from '@aws-lambda-powertools/logger';
import { secretScrubber } from './scrub';

/**
 * One structured JSON logger per process (Powertools). Service name comes from
 * POWERTOOLS_SERVICE_NAME. Never pass a connector value to it: log field names, codes and
 * counts only. Every string it writes still goes through the process-wide scrubber, which
 * knows every secret of every connector this process has read.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloudtrail-dnif-forwarder',
  jsonReplacerFn: (_key: string, value: unknown) => (typeof value === 'string' ? secretScrubber.text(value) : value),
});
