/**
 * `npm run test-connection -- --url ... [--profile ...]`: signs with the SDK's default
 * credential chain (here a named profile in a shared credentials file, as an SSO or
 * `aws configure` user has), reaches a SigV4-checking function URL stand-in in front of the
 * real test-connection handler, and prints the checks as a table.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { handler } from '../../functions/test-connection/handler';
import type { StandIns } from '../../standins';
import { startFunctionUrl, type FunctionUrlStandIn } from '../../standins/function-url';
import { useStandIns } from '../helpers/standins';
import { callTestConnection, formatAnswer, parseOptions } from '../../scripts/test-connection';

jest.setTimeout(60_000);

const standIns = useStandIns();
let s: StandIns;
let fnUrl: FunctionUrlStandIn;
let dir: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  s = standIns();
  await s.dnif.up();
  fnUrl = await startFunctionUrl(s.registry, handler);
  const caller = s.registry.createUser(s.accountId, 'secops-engineer');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-cli-'));
  fs.writeFileSync(path.join(dir, 'credentials'), `[secops]\naws_access_key_id = ${caller.accessKeyId}\naws_secret_access_key = ${caller.secretAccessKey}\n[wrong]\naws_access_key_id = ${caller.accessKeyId}\naws_secret_access_key = not-the-secret-key-000000000000000000000\n`);
  fs.writeFileSync(path.join(dir, 'config'), '[profile secops]\nregion = us-east-1\n');
  // Only the profile can sign: no keys in the environment.
  env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'config'), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '' };
});

afterAll(async () => {
  await fnUrl?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm run test-connection', () => {
  it('signs with the named profile and prints every check as a table, exit 0', async () => {
    // Asynchronous: the function URL stand-in answers from this process.
    const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        path.join('node_modules', '.bin', 'tsx'),
        ['scripts/test-connection.ts', '--url', fnUrl.url, '--region', 'us-east-1', '--profile', 'secops'],
        { cwd: path.resolve(__dirname, '..', '..'), env: { ...env, POWERTOOLS_LOG_LEVEL: 'ERROR' }, encoding: 'utf8', timeout: 45_000 },
        (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Connection successful — connector \S+ \(HTTP 200\)$/);
    expect(lines[1]).toMatch(/^result\s+check\s+region\s+code\s+message$/);
    expect(lines.slice(3).every((l) => /^ok\s+\S+/.test(l))).toBe(true);
    expect(r.stdout).toMatch(/^ok\s+cloudtrail\s+us-east-1\s+OK/m);
    expect(fnUrl.forbidden).toBe(0);
  });

  it('a profile that does not exist fails before any request; Lambda’s 403 is explained', async () => {
    const o = parseOptions(['--url', fnUrl.url, '--region', 'us-east-1', '--profile', 'nobody'], env);
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'config') });
    try {
      await expect(callTestConnection(o)).rejects.toThrow(/Could not load credentials/);
    } finally {
      process.env = saved;
    }
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'config') });
    try {
      const answer = await callTestConnection(parseOptions(['--url', fnUrl.url, '--region', 'us-east-1', '--profile', 'wrong'], env));
      expect(answer).toEqual({ status: 403, body: { Message: 'Forbidden' } });
      expect(fnUrl.forbidden).toBe(1);
    } finally {
      process.env = saved;
    }
    expect(formatAnswer({ status: 403, body: { Message: 'Forbidden' } })).toBe('HTTP 403: Forbidden — the caller needs the policy in docs/deploy.md, "Test the connection"');
  });

  it('failed checks show FAILED and the hint', () => {
    const text = formatAnswer({
      status: 502,
      body: { status: 'Connection failed', checks: [{ name: 'dnif', ok: false, code: 'DnifUnreachable', message: 'no answer', hint: 'Check the URL' }] },
    });
    expect(text.split('\n')).toEqual([
      'Connection failed (HTTP 502)',
      'result  check  region  code             message',
      '------  -----  ------  ---------------  ---------',
      'FAILED  dnif           DnifUnreachable  no answer',
      '',
      'What to do:',
      '  dnif: Check the URL',
    ]);
  });

  it('takes the region from a function URL and ?connector= from --connector', () => {
    const o = parseOptions(['--url', 'https://abc123.lambda-url.eu-west-1.on.aws/', '--connector', 'audit'], {});
    expect([o.region, o.url.search]).toEqual(['eu-west-1', '?connector=audit']);
    expect(() => parseOptions([], {})).toThrow(/--url is required/);
  });
});
