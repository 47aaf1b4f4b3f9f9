import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per process (Powertools). Service name comes from
 * POWERTOOLS_SERVICE_NAME. Never pass a connector value to it: log field names,
 * codes and counts only.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloudtrail-dnif-forwarder' });
