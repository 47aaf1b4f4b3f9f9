/**
 * npm run demo -- --source s3 — the trail-file source end to end on loopback stand-ins: an
 * organization trail writes gzip files for three accounts into S3, S3 notifications reach an SQS
 * queue, the event source mapping runs the real S3 forwarder, DNIF receives every record once.
 * Exits non-zero if anything was lost, delivered twice or dead-lettered.
 */
import './quiet-env';
import { handler as forwarder, resetS3ForwarderState } from '../functions/s3-forwarder/handler';
import { handler as testConnection } from '../functions/test-connection/handler';
import { buildTrailFiles, lambdaContext, putTrailFiles, routeNotifications, startEventSourceMapping, startStandIns, urlEvent } from '../standins';

const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const ORG = 'o-demo123456';
const PREFIX = 'org trail';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const pad = (v: unknown, n: number) => String(v).padEnd(n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function demoS3(): Promise<number> {
  const s = await startStandIns();
  try {
    s.applyEnv();
    const bucket = 'org-log-archive';
    s.s3.createBucket(bucket);
    s.sqs.createQueue('trail-files-dlq');
    const queue = s.sqs.createQueue('trail-files', { visibilityTimeoutSeconds: 6 * 60, deadLetter: { queue: 'trail-files-dlq', maxReceiveCount: 5 } });
    Object.assign(process.env, { SOURCE: 's3', TRAIL_BUCKET: bucket, TRAIL_PREFIX: PREFIX, TRAIL_QUEUE_URL: queue.url, DEADLINE_RESERVE_MS: '5000' });
    s.putConnectorSecret(s.connector({ connectorName: 'demo-org-trail' }));
    resetS3ForwarderState();

    console.log(bold('CloudTrail trail files → DNIF, local demo (source s3)'));
    console.log(`  S3 (SigV4, path-style)          ${s.s3.url}   bucket ${bucket}, prefix "${PREFIX}"`);
    console.log(`  SQS queue + DLQ (5 receives)    ${queue.url}`);
    console.log(`  DynamoDB object ledger          ${s.dynamodb.url}`);
    console.log(`  DNIF HTTP receiver              ${s.dnif.url}\n`);

    const unroute = routeNotifications(s.s3, s.sqs, { bucket, queue: queue.name });
    const esm = startEventSourceMapping({ sqs: s.sqs, registry: s.registry, queue: queue.name, handler: forwarder, functionTimeoutSeconds: 60, maximumConcurrency: 2 });
    const files = buildTrailFiles({ accountIds: ACCOUNTS, regions: ['us-east-1', 'eu-west-1'], prefix: PREFIX, orgId: ORG, from: new Date(Date.now() - 3600_000), hours: 0.5, insights: true, seed: 3 });
    console.log(bold('The organization trail writes'));
    for (let i = 0; i < 3; i++) {
      const wave = files.filter((_, j) => j % 3 === i);
      putTrailFiles(s.s3, bucket, wave);
      console.log(`  wave ${i + 1}: ${wave.length} files (${wave.reduce((n, f) => n + f.records.length, 0)} records) → S3 → notification → SQS`);
      await sleep(300);
    }
    s.s3.putObject(bucket, `${PREFIX}/AWSLogs/${ORG}/${ACCOUNTS[0]}/CloudTrail-Digest/us-east-1/2026/12/01/${ACCOUNTS[0]}_CloudTrail-Digest_us-east-1_org_us-east-1_20261201T010000Z.json.gz`, '{}');
    console.log('  and one digest file (acknowledged, not forwarded)\n');
    // The same notification twice, as S3 and SQS may deliver it.
    const again = s.sqs.messages(queue.name)[0];
    if (again) s.sqs.sendMessage(queue.name, again.body);
    await esm.drain({ timeoutMs: 60_000 });

    console.log(bold('Test connection (function URL, source s3)'));
    const response = await testConnection(urlEvent('GET'), lambdaContext(15_000, 'test-connection'));
    const body = JSON.parse(response.body) as { status: string; checks: { name: string; ok: boolean; code: string; message: string }[] };
    console.log(`  HTTP ${response.statusCode} "${body.status}"`);
    for (const c of body.checks) console.log(`    ${c.ok ? 'ok  ' : 'FAIL'} ${pad(c.name, 14)} ${pad(c.code, 10)} ${c.message}`);

    const received = s.dnif.eventsById();
    const expected = files.flatMap((f) => f.records);
    const lost = expected.filter((r) => !received.has(String(r.eventID)));
    console.log(`\n${bold('Account')}`);
    for (const account of ACCOUNTS) {
      const mine = expected.filter((r) => r.recipientAccountId === account);
      console.log(`  account ${account}: ${mine.length} records written, ${mine.filter((r) => received.has(String(r.eventID))).length} delivered`);
    }
    console.log(`  invocations                  ${esm.invocations.length} (at most ${esm.maxConcurrent()} at once)`);
    console.log(`  delivered to DNIF (unique)   ${received.size} of ${expected.length}`);
    console.log(`  lost                         ${lost.length}`);
    console.log(`  duplicates at DNIF           ${s.dnif.duplicates}`);
    console.log(`  dead-letter queue            ${s.sqs.counts('trail-files-dlq').total}`);
    const sample = [...received.values()].find((e) => (e.dnifForwarder as { s3?: unknown })?.s3);
    if (sample) {
      const { eventName, eventSource, awsRegion, dnifForwarder } = sample as Record<string, unknown>;
      console.log(`\n${bold('One record as DNIF received it (abridged)')}\n  ${JSON.stringify({ eventName, eventSource, awsRegion, dnifForwarder })}`);
    }
    unroute();
    await esm.stop();
    const ok = lost.length === 0 && s.dnif.duplicates === 0 && s.sqs.counts('trail-files-dlq').total === 0;
    console.log(`\n${ok ? 'OK: every record delivered exactly once.' : 'FAILED: see above.'}`);
    return ok ? 0 : 1;
  } finally {
    await s.stop();
  }
}
