/**
 * Is the trail still writing? GetTrailStatus in the trail's home region (from the digest file
 * names): logging stopped, the last log or digest delivery error. Missing permission or a trail
 * owned by another account is reported as unavailable, not as unhealthy.
 */
import { GetTrailStatusCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';

export interface TrailHealth {
  name: string;
  homeRegion: string;
  /** Undefined when the status could not be read (see `error`). */
  isLogging?: boolean;
  latestDeliveryError?: string;
  latestDigestDeliveryError?: string;
  error?: string;
}

export async function readTrailHealth(client: CloudTrailClient, name: string, homeRegion: string): Promise<TrailHealth> {
  try {
    const s = await client.send(new GetTrailStatusCommand({ Name: name }));
    return {
      name,
      homeRegion,
      isLogging: s.IsLogging ?? false,
      latestDeliveryError: s.LatestDeliveryError || undefined,
      latestDigestDeliveryError: s.LatestDigestDeliveryError || undefined,
    };
  } catch (err) {
    return { name, homeRegion, error: (err as Error).name || 'GetTrailStatusFailed' };
  }
}
