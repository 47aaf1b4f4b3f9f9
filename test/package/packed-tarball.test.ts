/**
 * The construct as a CDK user gets it: `npm pack` (which builds dist/ with the pre-bundled
 * Lambda code), install the tarball into a fresh CDK app outside the repository (aws-cdk-lib
 * and constructs from the registry, the npm cache first), synth it, and find both functions
 * deployable from the package alone: no esbuild, no repository paths (the Event history
 * functions and a trail-file connector's S3 forwarder, test connection and audit).
 * Bounded: about 20 s on an idle 2-core machine (pack ~7 s, install ~6 s, synth ~4 s).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, '..', '..');
const versionOf = (pkg: string) => (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

const APP = `
const { App, Stack } = require('aws-cdk-lib');
const { CloudTrailToDnif } = require('cloudtrail-dnif-forwarder');
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
new CloudTrailToDnif(stack, 'Dnif', {
  connectors: [
    { name: 'prod' },
    { name: 'audit', scheduleMinutes: 10 },
    { name: 'trail', source: 's3', trailBucket: 'org-log-archive', notifications: 'external' },
  ],
});
app.synth();
`;

describe('the npm package', () => {
  let work: string;
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  let appDir: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ctdnif-pack-'));
    const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], REPO).trim().split('\n').pop() as string;
    appDir = path.join(work, 'app');
    fs.mkdirSync(appDir);
    fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', path.join(work, tarball), `aws-cdk-lib@${versionOf('aws-cdk-lib')}`, `constructs@${versionOf('constructs')}`], appDir);
    fs.writeFileSync(path.join(appDir, 'app.js'), APP);
    run(process.execPath, ['app.js'], appDir);
    template = JSON.parse(fs.readFileSync(path.join(appDir, 'cdk.out', 'Consumer.template.json'), 'utf8'));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs with CDK alone: no esbuild, no Lambda runtime packages', () => {
    const installed = fs.readdirSync(path.join(appDir, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['aws-cdk-lib', 'constructs', 'cloudtrail-dnif-forwarder']));
    expect(installed).not.toContain('esbuild');
    expect(installed).not.toContain('@aws-sdk');
  });

  it('synthesizes every function from the pre-bundled code, each with its handler', () => {
    const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'DnifConnectortrailTrailAuditFunction', 'DnifConnectortrailTrailFilesForwarderFunction', 'DnifConnectortrailTrailFilesTestConnectionFunction',
      'DnifForwarderFunction', 'DnifTestConnectionFunction',
    ]);
    // Four different bundles (forwarder, test-connection, s3-forwarder, trail-audit): the two test connections share one.
    expect(new Set(functions.map(([, fn]) => fn.Properties.Code.S3Key)).size).toBe(4);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs22.x' });
      const asset = path.join(appDir, 'cdk.out', `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      // The asset is the bundle itself, and it loads and exports the handler.
      expect(fs.readdirSync(asset).sort()).toEqual(['index.js', 'index.js.map']);
      const exported = run(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(path.join(asset, 'index.js'))}).handler)`], appDir);
      expect(exported).toBe('function');
    }
    // Two forwarder schedules and the trail connector's hourly audit.
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule')).toHaveLength(3);
  });
});
