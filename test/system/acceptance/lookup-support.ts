/**
 * Shared by the LookupEvents acceptance files: a fresh connector per test, one scheduled run,
 * and the delivery checks (exactly once, oldest first per region) on what DNIF received.
 */
import { lambdaContext, scheduledEvent, type CloudTrailRecord, type StandIns } from '../../../standins';
import { coldHandler, newRecords, uniqueName } from './support';

export const MIN = 60_000;

export function lookupChecks(standIns: () => StandIns) {
  const freshConnector = async (overrides: Record<string, unknown> = {}): Promise<string> => {
    const s = standIns();
    await s.dnif.up();
    s.reset();
    const name = uniqueName('lookup');
    s.putConnectorSecret(s.connector({ connectorName: name, ...overrides }));
    return name;
  };
  const run = (h: ReturnType<typeof coldHandler>, timeoutMs = 60_000) => h(scheduledEvent(), lambdaContext(timeoutMs));
  const expectExactlyOnce = (expected: CloudTrailRecord[]): void => {
    const s = standIns();
    expect([...s.dnif.eventsById().keys()].sort()).toEqual(expected.map((r) => r.eventID).sort());
    expect(s.dnif.duplicates).toBe(0);
  };
  const expectOldestFirstPerRegion = (): void => {
    const byRegion = new Map<string, number[]>();
    for (const e of standIns().dnif.events()) {
      const region = String((e.dnifForwarder as { region: string }).region);
      byRegion.set(region, [...(byRegion.get(region) ?? []), Date.parse(String(e.eventTime))]);
    }
    for (const times of byRegion.values()) expect(times).toEqual([...times].sort((a, b) => a - b));
  };
  /** `n` new records in `region`'s Event history, between `fromMin` and `toMin` minutes ago. */
  const seedHistory = (n: number, fromMin: number, toMin: number, region = 'us-east-1'): CloudTrailRecord[] => {
    const s = standIns();
    const now = Date.now();
    const records = newRecords(n, now - fromMin * MIN, now - toMin * MIN, region, s.accountId);
    s.cloudtrail.addEvents(region, records, { accountId: s.accountId });
    return records;
  };
  return { freshConnector, run, expectExactlyOnce, expectOldestFirstPerRegion, seedHistory };
}
