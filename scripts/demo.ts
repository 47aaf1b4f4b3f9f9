/**
 * npm run demo — the real forwarder and test-connection handlers, through the real AWS SDK,
 * against local stand-ins on 127.0.0.1 (CloudTrail LookupEvents with SigV4 and the 2 req/s
 * limit, DynamoDB via dynalite, Secrets Manager, STS, a DNIF HTTP receiver).
 *
 * It loads the 48 real CloudTrail records of fixtures/cloudtrail into Event
 * history, some of them released late, runs the forwarder as the schedule would, and prints
 * what DNIF received. Time is compressed: LATENESS_SECONDS=20 instead of 900, runs every 4 s
 * instead of every 5 minutes. Exits non-zero if anything was lost or delivered twice.
 */
import './quiet-env';
import { demoS3 } from './demo-s3';
import type { ForwarderSummary } from '../functions/forwarder/forward';
import { handler as forwarder } from '../functions/forwarder/handler';
import { handler as testConnection } from '../functions/test-connection/handler';
import { cloudTrailTime, lambdaContext, loadRecords, scheduledEvent, startStandIns, urlEvent, type CloudTrailRecord } from '../standins';

const LATENESS_SECONDS = 20;
const RUN_EVERY_MS = 4_000;
const LATE_EVENTS = 8;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const pad = (v: unknown, n: number) => String(v).padEnd(n);
const hhmmss = (iso: string | null | undefined) => (iso ? iso.slice(11, 19) : '-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const standIns = await startStandIns();
  try {
    standIns.applyEnv();
    Object.assign(process.env, {
      LATENESS_SECONDS: String(LATENESS_SECONDS),
      SETTLE_SECONDS: '6',
      BACKFILL_SECONDS: '3600',
    });
    standIns.putConnectorSecret(standIns.connector({ connectorName: 'demo-cloudtrail' }));

    console.log(bold('CloudTrail → DNIF forwarder, local demo'));
    console.log(`  CloudTrail (LookupEvents, SigV4, 2 req/s)  ${standIns.cloudtrail.url}`);
    console.log(`  DynamoDB checkpoints (dynalite)            ${standIns.dynamodb.url}`);
    console.log(`  Secrets Manager (connector secret)         ${standIns.secrets.url}`);
    console.log(`  DNIF HTTP receiver                         ${standIns.dnif.url}\n`);

    // 1. Event history: the real records, re-timed into the last 45 minutes; a few show up late.
    const now = Date.now();
    const records = loadRecords();
    const onTime = records.slice(0, records.length - LATE_EVENTS).map((r, i, all) => retime(r, now - 45 * 60_000 + (i * 44 * 60_000) / all.length));
    const late = records.slice(records.length - LATE_EVENTS).map((r, i) => retime(r, now - 8_000 + i * 1_000));
    standIns.cloudtrail.addEvents('us-east-1', onTime, { accountId: standIns.accountId });
    for (const [i, r] of late.entries()) {
      // Each appears 6-16 s after its EventTime, within LATENESS_SECONDS.
      standIns.cloudtrail.addEvents('us-east-1', [r], { accountId: standIns.accountId, visibleAt: Date.parse(r.eventTime) + 6_000 + i * 1_400 });
    }
    console.log(bold('Event history'));
    console.log(`  ${records.length} real CloudTrail records (${new Set(records.map((r) => r.eventSource)).size} services): ${onTime.length} visible now, ${late.length} released 6-16 s after they happened\n`);

    // 2. Test connection: the stored connector, then a candidate with a wrong DNIF token.
    console.log(bold('Test connection (function URL)'));
    await showTestConnection('GET  stored connector', urlEvent('GET'));
    const wrongToken = standIns.connector({ connectorName: 'demo-cloudtrail', dnif: { token: 'not-the-right-token' } });
    await showTestConnection('POST candidate, wrong DNIF token', urlEvent('POST', wrongToken));
    console.log('');
    // The test connection used this account's LookupEvents quota too; let that second pass.
    await sleep(1_000);

    // 3. The schedule: run the forwarder until every late event is past its lateness window.
    console.log(bold('Scheduled runs'));
    console.log(
      `  Time is compressed: a run every ${RUN_EVERY_MS / 1000} s (deployed: every 5 min) and events may arrive up to ` +
        `${LATENESS_SECONDS} s late (deployed: LATENESS_SECONDS=900).`,
    );
    console.log('  dup skipped = events this run read again but had already delivered (kept out of DNIF);');
    console.log('  lag s = age of the oldest event not yet delivered, in seconds (LagSeconds on the dashboard).');
    console.log(`  ${pad('run', 5)}${pad('forwarded', 11)}${pad('dup skipped', 13)}${pad('pages', 7)}${pad('checkpoint', 12)}${pad('lag s', 7)}DNIF has`);
    const lastDue = Math.max(...late.map((r) => Date.parse(r.eventTime))) + LATENESS_SECONDS * 1000;
    const summaries: ForwarderSummary[] = [];
    for (let run = 1; run === 1 || Date.now() < lastDue + RUN_EVERY_MS; run++) {
      const started = Date.now();
      const s = await forwarder(scheduledEvent(), lambdaContext(60_000));
      summaries.push(s);
      console.log(
        `  ${pad(run, 5)}${pad(s.forwarded, 11)}${pad(s.duplicatesSkipped, 13)}${pad(s.pages, 7)}${pad(hhmmss(s.checkpoint), 12)}${pad(s.lagSeconds, 7)}${standIns.dnif.eventsById().size} events`,
      );
      await sleep(Math.max(0, RUN_EVERY_MS - (Date.now() - started)));
    }

    // 4. The account.
    const sent = new Set(records.map((r) => r.eventID));
    const received = standIns.dnif.eventsById();
    const missing = [...sent].filter((id) => !received.has(id));
    const stats = standIns.cloudtrail.stats();
    console.log(`\n${bold('Account')}`);
    console.log(`  events in Event history      ${sent.size}`);
    console.log(`  delivered to DNIF (unique)   ${received.size}`);
    console.log(`  lost                         ${missing.length}${missing.length ? ` (${missing.join(', ')})` : ''}`);
    console.log(`  duplicates at DNIF           ${standIns.dnif.duplicates}`);
    console.log(`  DNIF requests                ${standIns.dnif.requests.length} (${standIns.dnif.probes.length} test-connection probe)`);
    console.log(`  LookupEvents calls           ${stats.lookups}, at most ${stats.regions['us-east-1']?.maxInAnyWindow ?? 0} in any second (AWS allows 2), ${stats.throttled} throttled`);
    console.log(`  checkpoint (head)            ${summaries[summaries.length - 1].checkpoint}`);
    const sample = received.values().next().value;
    if (sample) {
      console.log(`\n${bold('One record as DNIF received it (abridged)')}`);
      const { dnifForwarder, eventName, eventSource, eventTime, awsRegion, userIdentity } = sample as Record<string, unknown>;
      console.log(`  ${JSON.stringify({ eventName, eventSource, eventTime, awsRegion, userIdentity: { type: (userIdentity as { type?: string })?.type }, dnifForwarder })}`);
    }
    const ok = missing.length === 0 && standIns.dnif.duplicates === 0;
    console.log(`\n${ok ? 'OK: every event delivered exactly once.' : 'FAILED: see above.'}`);
    return ok ? 0 : 1;
  } finally {
    await standIns.stop();
  }
}

function retime(record: CloudTrailRecord, ms: number): CloudTrailRecord {
  return { ...record, awsRegion: 'us-east-1', eventTime: cloudTrailTime(ms) };
}

async function showTestConnection(label: string, event: ReturnType<typeof urlEvent>): Promise<void> {
  const response = await testConnection(event, lambdaContext(15_000, 'test-connection'));
  const body = JSON.parse(response.body) as { status: string; timestamp: string; checks: { name: string; ok: boolean; code: string; message: string }[] };
  console.log(`  ${label}: HTTP ${response.statusCode} "${body.status}" at ${body.timestamp}`);
  for (const check of body.checks) console.log(`    ${check.ok ? 'ok  ' : 'FAIL'} ${pad(check.name, 22)} ${pad(check.code, 18)} ${check.message}`);
}

// `npm run demo -- --source s3`: the trail-file source instead (scripts/demo-s3.ts).
const source = process.argv.find((a, i, all) => all[i - 1] === '--source' || a.startsWith('--source='))?.replace('--source=', '');
(source === 's3' ? demoS3() : main()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
