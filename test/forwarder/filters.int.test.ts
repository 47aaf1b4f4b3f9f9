/**
 * Connector filters end to end: include/exclude rules over eventSource, eventName (with `*`)
 * and readOnly drop exactly the events they name, in every region; dropped events are counted
 * (summary.filtered, per region, the EventsFiltered metric) and remembered as handled.
 */
import { randomUUID } from 'node:crypto';
import { metrics } from '../../functions/core/metrics';
import { cloudTrailTime, loadRecords, type CloudTrailRecord, type StandIns } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { invokeForwarder, newConnector, sorted } from '../helpers/forwarder-helpers';

jest.setTimeout(120_000);

const standIns = useStandIns({ putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = standIns()));

const FILTERS = {
  include: [{ eventSource: 'iam.amazonaws.com' }, { eventSource: 'kms.*' }, { eventSource: 'ec2.amazonaws.com' }, { readOnly: true }],
  exclude: [{ eventName: 'Describe*' }, { eventSource: 'kms.amazonaws.com', readOnly: true }],
};

/** Kinds of event and whether FILTERS keeps them (worked out by hand from the rules). */
const KINDS: Array<{ eventSource: string; eventName: string; readOnly?: boolean; keep: boolean; why: string }> = [
  { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', readOnly: false, keep: true, why: 'included by source' },
  { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', readOnly: true, keep: false, why: 'excluded by Describe*' },
  { eventSource: 'iam.amazonaws.com', eventName: 'DescribeUserX', readOnly: false, keep: false, why: 'exclude beats include' },
  { eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', readOnly: true, keep: false, why: 'excluded: kms and read-only' },
  { eventSource: 'kms.amazonaws.com', eventName: 'DisableKey', readOnly: false, keep: true, why: 'included by kms.*' },
  { eventSource: 's3.amazonaws.com', eventName: 'GetBucketPolicy', readOnly: true, keep: true, why: 'included by readOnly' },
  { eventSource: 's3.amazonaws.com', eventName: 'PutBucketVersioning', readOnly: false, keep: false, why: 'matches no include' },
  { eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', readOnly: true, keep: true, why: 'included by readOnly' },
  { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyImageAttribute', readOnly: false, keep: true, why: 'included by source' },
  { eventSource: 'logs.amazonaws.com', eventName: 'DeleteLogGroup', keep: false, why: 'no readOnly field, matches no include' },
  { eventSource: 'iam.amazonaws.com', eventName: 'UpdateUser', keep: true, why: 'included by source, readOnly absent' },
  { eventSource: 'kmsx.amazonaws.com', eventName: 'Decrypt', readOnly: true, keep: true, why: 'kms.* does not match kmsx., readOnly includes' },
];

function eventsFor(region: string, copies: number): Array<CloudTrailRecord & { keep: boolean }> {
  const template = loadRecords()[0];
  const now = Date.now();
  const out: Array<CloudTrailRecord & { keep: boolean }> = [];
  for (let c = 0; c < copies; c++) {
    KINDS.forEach((kind, k) => {
      const record: CloudTrailRecord = {
        ...template,
        eventID: randomUUID(),
        eventTime: cloudTrailTime(now - 30 * 60_000 + (c * KINDS.length + k) * 7_000),
        eventSource: kind.eventSource,
        eventName: kind.eventName,
        awsRegion: region,
        recipientAccountId: s.accountId,
      };
      if (kind.readOnly === undefined) delete record.readOnly;
      else record.readOnly = kind.readOnly;
      out.push(Object.assign(record, { keep: kind.keep }));
    });
  }
  return out;
}

describe('filters', () => {
  afterEach(() => {
    delete process.env.LATENESS_SECONDS;
    delete process.env.SETTLE_SECONDS;
  });

  it('drop exactly what they name, count it per region and in EventsFiltered, and remember it as handled', async () => {
    const regions = ['us-east-1', 'eu-west-1'];
    // The second run re-reads the whole 30 minutes (settle window 45 min) to show filtered events are remembered.
    process.env.LATENESS_SECONDS = '3600';
    process.env.SETTLE_SECONDS = String(45 * 60);
    await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: regions, filters: FILTERS }));
    const events = Object.fromEntries(regions.map((r) => [r, eventsFor(r, 10)]));
    for (const r of regions) s.cloudtrail.addEvents(r, events[r].map(({ keep: _k, ...record }) => record));
    const addMetric = jest.spyOn(metrics, 'addMetric');

    const summary = await invokeForwarder();

    const all = regions.flatMap((r) => events[r]);
    const kept = all.filter((e) => e.keep);
    const dropped = all.filter((e) => !e.keep);
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(kept.map((e) => e.eventID)));
    expect(s.dnif.duplicates).toBe(0);
    expect(summary).toMatchObject({ forwarded: kept.length, filtered: dropped.length });
    for (const r of regions) {
      expect(summary.regions[r]).toMatchObject({ forwarded: events[r].filter((e) => e.keep).length, filtered: events[r].filter((e) => !e.keep).length });
    }
    expect(addMetric).toHaveBeenCalledWith('EventsFiltered', 'Count', dropped.length);
    expect(addMetric).toHaveBeenCalledWith('EventsForwarded', 'Count', kept.length);
    addMetric.mockRestore();

    // Each kind went where the hand-worked table says.
    const delivered = new Set(s.dnif.eventsById().keys());
    for (const kind of KINDS) {
      const ofKind = all.filter((e) => e.eventSource === kind.eventSource && e.eventName === kind.eventName && e.readOnly === kind.readOnly);
      expect({ kind: `${kind.eventSource} ${kind.eventName} (${kind.why})`, delivered: ofKind.filter((e) => delivered.has(e.eventID)).length }).toEqual({
        kind: `${kind.eventSource} ${kind.eventName} (${kind.why})`,
        delivered: kind.keep ? 20 : 0,
      });
    }

    // Filtered events are handled: a run that reads them again neither sends nor counts them again.
    const again = await invokeForwarder();
    expect(again).toMatchObject({ forwarded: 0, filtered: 0 });
    expect(again.duplicatesSkipped).toBe(all.length);
  });

  it('with only exclude rules, keeps everything else', async () => {
    await newConnector(s, (n) => s.connector({ connectorName: n, filters: { exclude: [{ eventName: 'Get*', readOnly: true }] } }));
    const events = eventsFor('us-east-1', 2);
    s.cloudtrail.addEvents('us-east-1', events.map(({ keep: _k, ...record }) => record));
    const dropped = events.filter((e) => e.eventName.startsWith('Get') && e.readOnly === true);

    const summary = await invokeForwarder();

    expect(dropped.length).toBe(4);
    expect(summary).toMatchObject({ forwarded: events.length - 4, filtered: 4 });
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(events.filter((e) => !dropped.includes(e)).map((e) => e.eventID)));
  });
});
