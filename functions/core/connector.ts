/**
 * The connector: the JSON kept in Secrets Manager, mirroring DNIF's "AWS CloudTrail"
 * connector form (Connector Name, AWS Access Key, AWS Secret Key, AWS Region) plus where
 * and how to deliver. See SPEC.md, "The connector secret".
 *
 * Validation errors name the field and the rule it broke; they never echo a value,
 * because any field of this document may hold a credential.
 */
// zod/mini, not classic zod: classic gives every schema its whole method set at load (zod was
// 99 KB of the forwarder bundle and ~21 ms of module init; with mini 32 KB and ~8 ms). Mini loads
// no locale: English is imported by name (a namespace would reach all ~40) and passed to the parse.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { REGION_PATTERN } from './contract';

/** One broken rule of the connector, by dotted field path. */
export interface FieldProblem {
  field: string;
  problem: string;
}

export class ConnectorValidationError extends Error {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super(`Connector secret is invalid: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`);
    this.name = 'ConnectorValidationError';
    this.problems = problems;
  }
  /** The first field named, for callers that show one. */
  get field(): string {
    return this.problems[0]?.field ?? '(secret)';
  }
}

const region = z
  .string()
  .check(z.regex(REGION_PATTERN, 'must be an AWS region code such as us-east-1 (lower case, no spaces)'));

const nonEmpty = (what: string) => z.string().check(z.minLength(1, `${what} must not be empty`));

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** https only; plain http is accepted for loopback receivers (local tests and the demo). */
export function isAllowedDnifUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.'));
}

const headerName = z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name'));

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: nonEmpty('token') }),
  z.strictObject({ type: z.literal('basic'), username: nonEmpty('username'), password: nonEmpty('password') }),
  z.strictObject({ type: z.literal('header'), name: headerName, value: nonEmpty('value') }),
  z.strictObject({
    type: z.literal('hmac'),
    header: headerName,
    secret: nonEmpty('secret'),
    algorithm: z._default(z.enum(['sha256', 'sha1', 'sha512']), 'sha256'),
  }),
]);

const pem = z.string().check(z.regex(/-----BEGIN [A-Z0-9 ]+-----/, 'must be a PEM string'));

const syslogSchema = z.strictObject({
  host: nonEmpty('host'),
  port: z.number().check(z.int('must be a whole number'), z.gte(1), z.lte(65535)),
  tls: z._default(z.boolean(), true),
  ca: z.optional(pem),
  cert: z.optional(pem),
  key: z.optional(pem),
});

const dnifSchema = z
  .strictObject({
    url: z.optional(
      z.string().check(z.refine(isAllowedDnifUrl, 'must be an https:// URL (http:// only for a loopback receiver)')),
    ),
    token: z.optional(nonEmpty('token')),
    auth: z.optional(authSchema),
    format: z._default(z.enum(['json', 'ndjson']), 'json'),
    gzip: z._default(z.boolean(), false),
    flatten: z._default(z.boolean(), false),
    headers: z.optional(z.record(z.string(), z.string())),
    syslog: z.optional(syslogSchema),
  })
  .check(z.superRefine((d, ctx) => {
    if (!d.url && !d.syslog) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required (or give dnif.syslog)' });
    if (d.url && !d.token && !d.auth)
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'is required (or give dnif.auth)' });
    if (d.token && d.auth) ctx.addIssue({ code: 'custom', path: ['auth'], message: 'give either dnif.token or dnif.auth, not both' });
    if (!d.syslog) return;
    // One destination per connector: a batch is then delivered, or not, in one place.
    if (d.url) ctx.addIssue({ code: 'custom', path: ['syslog'], message: 'give either dnif.url or dnif.syslog, not both' });
    const httpOnly = { token: d.token, auth: d.auth, headers: d.headers, gzip: d.gzip || undefined, format: d.format === 'ndjson' ? d.format : undefined };
    for (const [field, value] of Object.entries(httpOnly)) {
      if (value !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'applies to dnif.url only, not to dnif.syslog' });
    }
    const s = d.syslog;
    if (s.cert && !s.key) ctx.addIssue({ code: 'custom', path: ['syslog', 'key'], message: 'is required with dnif.syslog.cert' });
    if (s.key && !s.cert) ctx.addIssue({ code: 'custom', path: ['syslog', 'cert'], message: 'is required with dnif.syslog.key' });
    for (const field of ['ca', 'cert', 'key'] as const) {
      if (!s.tls && s[field]) ctx.addIssue({ code: 'custom', path: ['syslog', field], message: 'applies only with dnif.syslog.tls true' });
    }
  }));

/** A pattern such as `Describe*` or `*.amazonaws.com`; `*` matches any run of characters. */
const filterRule = z
  .strictObject({
    eventSource: z.optional(nonEmpty('eventSource')),
    eventName: z.optional(nonEmpty('eventName')),
    readOnly: z.optional(z.boolean()),
  })
  .check(
    z.refine((r) => r.eventSource !== undefined || r.eventName !== undefined || r.readOnly !== undefined, {
      message: 'a rule needs eventSource, eventName or readOnly',
    }),
  );

const filtersSchema = z.strictObject({
  include: z.optional(z.array(filterRule)),
  exclude: z.optional(z.array(filterRule)),
});

const connectorSchema = z
  .strictObject({
    connectorName: z
      .string()
      .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/, 'must be 1-128 letters, digits, spaces, dots, dashes or underscores')),
    awsAccessKeyId: z.optional(
      z.string().check(z.regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id (16-128 upper-case letters and digits)')),
    ),
    awsSecretAccessKey: z.optional(z.string().check(z.minLength(16, 'must be an AWS secret access key (at least 16 characters)'))),
    awsSessionToken: z.optional(nonEmpty('awsSessionToken')),
    awsRegion: z.optional(region),
    awsRegions: z.optional(z.array(region).check(z.minLength(1, 'must list at least one region'))),
    roleArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'))),
    externalId: z.optional(
      z.string().check(z.minLength(2, 'must be 2-1224 characters'), z.maxLength(1224, 'must be 2-1224 characters')),
    ),
    dnif: dnifSchema,
    filters: z.optional(filtersSchema),
  })
  .check(z.superRefine((c, ctx) => {
    if (!c.awsRegion && !c.awsRegions) ctx.addIssue({ code: 'custom', path: ['awsRegion'], message: 'is required (or give awsRegions)' });
    if (c.awsRegion && c.awsRegions)
      ctx.addIssue({ code: 'custom', path: ['awsRegions'], message: 'give either awsRegion or awsRegions, not both' });
    if (c.awsRegions && new Set(c.awsRegions).size !== c.awsRegions.length)
      ctx.addIssue({ code: 'custom', path: ['awsRegions'], message: 'lists a region twice' });
    if (c.awsAccessKeyId && !c.awsSecretAccessKey)
      ctx.addIssue({ code: 'custom', path: ['awsSecretAccessKey'], message: 'is required when awsAccessKeyId is given' });
    if (c.awsSecretAccessKey && !c.awsAccessKeyId)
      ctx.addIssue({ code: 'custom', path: ['awsAccessKeyId'], message: 'is required when awsSecretAccessKey is given' });
    if (c.awsSessionToken && !c.awsAccessKeyId)
      ctx.addIssue({ code: 'custom', path: ['awsSessionToken'], message: 'needs awsAccessKeyId and awsSecretAccessKey' });
    if (c.externalId && !c.roleArn) ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'needs roleArn' });
  }));

type ParsedConnector = z.output<typeof connectorSchema>;
export type DnifAuth = z.output<typeof authSchema>;
export type SyslogTarget = z.output<typeof syslogSchema>;
export type FilterRule = z.output<typeof filterRule>;
export type Filters = z.output<typeof filtersSchema>;

/** HTTP delivery settings with `token` folded into `auth`. */
export interface HttpTarget {
  url: string;
  auth: DnifAuth;
  format: 'json' | 'ndjson';
  gzip: boolean;
  flatten: boolean;
  headers: Record<string, string>;
}

export interface AwsAccess {
  /** Absent: the function's own role (the default credential chain). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  roleArn?: string;
  externalId?: string;
}

/** A validated connector, in the shape the code uses. */
export interface Connector {
  name: string;
  regions: string[];
  aws: AwsAccess;
  http?: HttpTarget;
  syslog?: SyslogTarget;
  flatten: boolean;
  filters: Filters;
}

// zod/mini has no messages of its own; describeIssue keys on these English ones.
const english = en().localeError;

function describeIssue(issue: z.core.$ZodIssue): FieldProblem[] {
  const field = issue.path.map(String).join('.') || '(secret)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ field: field === '(secret)' ? k : `${field}.${k}`, problem: 'is not a known field' }));
    case 'invalid_type':
      // zod's own text says "received undefined" for a missing field; say it plainly.
      return [{ field, problem: /received undefined/.test(issue.message) ? 'is required' : `must be of type ${issue.expected}` }];
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      return [{ field, problem: options ? `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}` : 'does not match any allowed form' }];
    }
    case 'invalid_value':
      return [{ field, problem: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    default:
      return [{ field, problem: issue.message }];
  }
}

/** Parse and validate the connector JSON. Throws ConnectorValidationError naming every bad field. */
export function parseConnector(input: unknown): Connector {
  let raw = input;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      // JSON.parse's own message quotes the text it choked on: never pass it on.
      throw new ConnectorValidationError([{ field: '(secret)', problem: 'is not valid JSON' }]);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConnectorValidationError([{ field: '(secret)', problem: 'must be a JSON object' }]);
  }
  const result = connectorSchema.safeParse(raw, { error: english });
  if (!result.success) throw new ConnectorValidationError(result.error.issues.flatMap(describeIssue));
  return toConnector(result.data);
}

function toConnector(c: ParsedConnector): Connector {
  const d = c.dnif;
  const auth: DnifAuth | undefined = d.auth ?? (d.token ? { type: 'bearer', token: d.token } : undefined);
  return {
    name: c.connectorName,
    regions: c.awsRegions ?? [c.awsRegion as string],
    aws: {
      accessKeyId: c.awsAccessKeyId,
      secretAccessKey: c.awsSecretAccessKey,
      sessionToken: c.awsSessionToken,
      roleArn: c.roleArn,
      externalId: c.externalId,
    },
    http:
      d.url && auth
        ? { url: d.url, auth, format: d.format, gzip: d.gzip, flatten: d.flatten, headers: d.headers ?? {} }
        : undefined,
    syslog: d.syslog,
    flatten: d.flatten,
    filters: c.filters ?? {},
  };
}

/** Every string in the connector that must never reach a log line or a response body. */
export function secretValuesOf(c: Connector): string[] {
  const values = [c.aws.secretAccessKey, c.aws.sessionToken, c.aws.accessKeyId, c.syslog?.key];
  const a = c.http?.auth;
  if (a?.type === 'bearer') values.push(a.token);
  if (a?.type === 'basic') values.push(a.password);
  if (a?.type === 'header') values.push(a.value);
  if (a?.type === 'hmac') values.push(a.secret);
  // Extra headers usually carry API keys.
  values.push(...Object.values(c.http?.headers ?? {}));
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
