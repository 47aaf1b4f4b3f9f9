/**
 * The real path: the CDK CLI runs cdk.json's app (tsx infra/app.ts), which reads context,
 * bundles with the local esbuild and runs cdk-nag. No AWS credentials, network or Docker.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../infra/service-function';

function cdkSynth(...context: string[]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-synth-'));
  const result = spawnSync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', out, ...context.flatMap((c) => ['-c', c])],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 90_000,
      // No credentials or region: the stack must be environment-agnostic.
      env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' },
    },
  );
  return { ...result, out };
}

describe('npx cdk synth', () => {
  it('synthesizes the app with options, clean under cdk-nag', () => {
    const r = cdkSynth('stackName=DnifProd', 'scheduleMinutes=10', 'alarmEmail=ops@example.com', 'noEventsAlarmHours=4');
    expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });

    const template = JSON.parse(fs.readFileSync(path.join(r.out, 'DnifProd.template.json'), 'utf8'));
    const rule = Object.values(template.Resources).find((x: any) => x.Type === 'AWS::Events::Rule') as any;
    expect(rule.Properties.ScheduleExpression).toBe('rate(10 minutes)');

    const report = JSON.parse(fs.readFileSync(path.join(r.out, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
    fs.rmSync(r.out, { recursive: true, force: true });
  });

  it('synthesizes mixed connectors from context (two Event history, one trail-file), bundling all four handlers, clean under cdk-nag', () => {
    const connectors = [
      { name: 'prod' },
      { name: 'audit', scheduleMinutes: 10 },
      { name: 'trail', source: 's3', trailBucket: 'org-log-archive', trailPrefix: 'org', notifications: 'external', maxConcurrency: 4 },
    ];
    const r = cdkSynth('stackName=DnifMixed', `connectors=${JSON.stringify(connectors)}`);
    expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
    const template = JSON.parse(fs.readFileSync(path.join(r.out, 'DnifMixed.template.json'), 'utf8'));
    const of = (type: string) => Object.values(template.Resources as Record<string, { Type: string; Properties: any }>).filter((x) => x.Type === type);
    // Two forwarder schedules and the trail connector's hourly audit.
    expect(of('AWS::Events::Rule').map((x) => x.Properties.ScheduleExpression).sort()).toEqual(['rate(1 hour)', 'rate(10 minutes)', 'rate(5 minutes)']);
    expect(of('AWS::Lambda::EventSourceMapping').map((m) => m.Properties.ScalingConfig)).toEqual([{ MaximumConcurrency: 4 }]);
    // forwarder, test-connection, s3-forwarder, trail-audit.
    expect(new Set(of('AWS::Lambda::Function').map((f) => f.Properties.Code.S3Key)).size).toBe(4);
    expect(JSON.parse(fs.readFileSync(path.join(r.out, 'validation-report.json'), 'utf8')).pluginReports).toEqual([]);
    fs.rmSync(r.out, { recursive: true, force: true });
  });

  it('stops with one line naming a bad option, no stack trace', () => {
    const r = cdkSynth('scheduleMinutes=0');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Option scheduleMinutes must be a whole number from 1 to 60/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    fs.rmSync(r.out, { recursive: true, force: true });
  });

  it('rejects a typo\'d option with a did-you-mean instead of deploying the default', () => {
    const r = cdkSynth('scheduleMinute=10');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Option scheduleMinute is not an option of this app (did you mean "scheduleMinutes"?)');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    fs.rmSync(r.out, { recursive: true, force: true });
  });
});
