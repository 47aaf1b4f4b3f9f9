/**
 * Calls the deployed test-connection URL, signed with SigV4 for the `lambda` service using the
 * AWS SDK's default credential chain (environment keys, `--profile` / AWS_PROFILE, SSO, role
 * profiles, instance and container roles), and prints the checks as a table.
 *
 *   npm run test-connection -- --url https://<id>.lambda-url.eu-west-1.on.aws/ [--profile secops]
 *     [--connector <name>] [--post connector.json] [--region <region>] [--json]
 *
 * Exit code 0 when the connection is good, 1 when a check failed, 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

const USAGE = 'usage: npm run test-connection -- --url <TestConnectionUrl> [--profile <name>] [--region <region>] [--connector <name>] [--post <connector.json>] [--json]';

class UsageError extends Error {}

/** SignatureV4's checksum constructor: SHA-256 from node:crypto (through Smithy's Hash). */
class Sha256 extends Hash {
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    super('sha256', secret as never);
  }
}

interface Options {
  url: URL;
  region: string;
  profile?: string;
  body?: string;
  json: boolean;
}

export function parseOptions(argv: string[], env: Record<string, string | undefined> = process.env): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      profile: { type: 'string' },
      region: { type: 'string' },
      connector: { type: 'string' },
      post: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.url) throw new UsageError('--url is required (the TestConnectionUrl stack output)');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: ${values.url}`);
  }
  if (values.connector) url.searchParams.set('connector', values.connector);
  // Function URLs are https://<id>.lambda-url.<region>.on.aws/.
  const region = values.region ?? /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(url.hostname)?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('--region is needed: the URL does not name one and AWS_REGION is not set');
  return { url, region, profile: values.profile, body: values.post ? readFileSync(values.post, 'utf8') : undefined, json: values.json };
}

export interface Check {
  name: string;
  ok: boolean;
  region?: string;
  code?: string;
  message?: string;
  hint?: string;
}

export interface Answer {
  status: number;
  body: { status?: string; connectorName?: string; checks?: Check[]; message?: string; Message?: string };
}

export async function callTestConnection(o: Options): Promise<Answer> {
  const signer = new SignatureV4({ service: 'lambda', region: o.region, credentials: fromNodeProviderChain({ profile: o.profile }), sha256: Sha256 });
  const query = Object.fromEntries(o.url.searchParams);
  const request = new HttpRequest({
    method: o.body === undefined ? 'GET' : 'POST',
    protocol: o.url.protocol,
    hostname: o.url.hostname,
    port: o.url.port ? Number(o.url.port) : undefined,
    path: o.url.pathname,
    query,
    headers: { host: o.url.host, ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: o.body,
  });
  const signed = await signer.sign(request);
  const response = await fetch(o.url, { method: signed.method, headers: signed.headers as Record<string, string>, body: o.body, redirect: 'manual' });
  const text = await response.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = { message: text.slice(0, 500) };
  }
  return { status: response.status, body };
}

/** The checks as a fixed-width table, then the hints of the failed ones. */
export function formatAnswer(a: Answer): string {
  const checks = a.body.checks ?? [];
  if (!checks.length) {
    // Not the function's answer: Lambda's own 403 (signature, permissions) or an error.
    const message = a.body.message ?? a.body.Message ?? '';
    const why = a.status === 403 ? ' — the caller needs the policy in docs/deploy.md, "Test the connection"' : '';
    return `HTTP ${a.status}${message ? `: ${message}` : ''}${why}`;
  }
  const rows = checks.map((c) => [c.ok ? 'ok' : 'FAILED', c.name, c.region ?? '', c.code ?? '', c.message ?? '']);
  const head = ['result', 'check', 'region', 'code', 'message'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  const hints = checks.filter((c) => !c.ok && c.hint).map((c) => `  ${c.name}${c.region ? ` (${c.region})` : ''}: ${c.hint}`);
  return [
    `${a.body.status ?? `HTTP ${a.status}`}${a.body.connectorName ? ` — connector ${a.body.connectorName}` : ''} (HTTP ${a.status})`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(hints.length ? ['', 'What to do:', ...hints] : []),
  ].join('\n');
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const answer = await callTestConnection(options);
  console.log(options.json ? JSON.stringify(answer.body, null, 2) : formatAnswer(answer));
  return answer.status === 200 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Credential-chain errors name the profile and what was tried, never a key.
      console.error(`test-connection: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
