/**
 * The connector secret's JSON schema (SPEC.md, "The connector secret"), in zod/mini, and the
 * field problems it reports. connector.ts turns what passes into the Connector the code uses.
 *
 * Problems name the field and the rule it broke; they never echo a value, because any field of
 * this document may hold a credential.
 */
// zod/mini, not classic zod: classic gives every schema its whole method set at load (zod was
// 99 KB of the forwarder bundle and ~21 ms of module init; with mini 32 KB and ~8 ms). Mini loads
// no locale: English is imported by name (a namespace would reach all ~40) and passed to the parse.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { REGION_PATTERN } from './contract';
import { dnifUrlProblem, HEADER_NAME, headerProblems, headerValueProblem, isShowableKeyName, plainSyslogProblem } from './transport-rules';

/** One broken rule of the connector, by dotted field path. */
export interface FieldProblem {
  field: string;
  problem: string;
}

const region = z
  .string()
  .check(z.regex(REGION_PATTERN, 'must be an AWS region code such as us-east-1 (lower case, no spaces)'));

const nonEmpty = (what: string) => z.string().check(z.minLength(1, `${what} must not be empty`));

/** AWS has 37 regions across its partitions (2025); a longer list cannot be right. */
export const MAX_AWS_REGIONS = 40;
export const MAX_FILTER_RULES = 100;
export const MAX_PATTERN_LENGTH = 256;
/** rsyslog's default maxMessageSize: what a stock DNIF Adapter takes whole (the RFC 5424 header included). */
export const DEFAULT_SYSLOG_MAX_MESSAGE_BYTES = 8192;

const headerName = z.string().check(z.regex(HEADER_NAME, 'must be a valid HTTP header name'));
/** A value that goes into a request header as it is (a token, a shared secret). */
const headerValue = (what: string) =>
  nonEmpty(what).check(z.refine((v) => headerValueProblem(v) === undefined, { error: (i) => headerValueProblem(String(i.input)) }));

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: headerValue('token') }),
  z.strictObject({
    type: z.literal('basic'),
    // RFC 7617: the user-id cannot contain a colon (the first one ends it).
    username: nonEmpty('username').check(z.refine((u) => !u.includes(':'), 'must not contain ":" (RFC 7617)')),
    password: nonEmpty('password'),
  }),
  z.strictObject({ type: z.literal('header'), name: headerName, value: headerValue('value') }),
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
  /** Largest RFC 5424 message (header included); larger records are shrunk as for HTTP. */
  maxMessageBytes: z._default(
    z.number().check(z.int('must be a whole number'), z.gte(1024, 'must be at least 1024'), z.lte(1_048_576, 'must be at most 1048576')),
    DEFAULT_SYSLOG_MAX_MESSAGE_BYTES,
  ),
});

const dnifSchema = z
  .strictObject({
    url: z.optional(z.string().check(z.refine((u) => dnifUrlProblem(u) === undefined, { error: (i) => dnifUrlProblem(String(i.input)) }))),
    token: z.optional(headerValue('token')),
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
    for (const p of headerProblems(d.headers ?? {}, authHeaderOf(d.auth ?? (d.token ? { type: 'bearer' } : undefined)))) {
      ctx.addIssue({ code: 'custom', path: ['headers', p.key], message: p.problem });
    }
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
    const plain = s.tls ? undefined : plainSyslogProblem(s.host);
    if (plain) ctx.addIssue({ code: 'custom', path: ['syslog', 'tls'], message: plain });
  }));

/** A pattern such as `Describe*` or `*.amazonaws.com`; `*` matches any run of characters. */
const pattern = (what: string) => nonEmpty(what).check(z.maxLength(MAX_PATTERN_LENGTH, `must be at most ${MAX_PATTERN_LENGTH} characters`));
const filterRule = z
  .strictObject({
    eventSource: z.optional(pattern('eventSource')),
    eventName: z.optional(pattern('eventName')),
    readOnly: z.optional(z.boolean()),
  })
  .check(
    z.refine((r) => r.eventSource !== undefined || r.eventName !== undefined || r.readOnly !== undefined, {
      message: 'a rule needs eventSource, eventName or readOnly',
    }),
  );

const rules = z.array(filterRule).check(z.maxLength(MAX_FILTER_RULES, `must list at most ${MAX_FILTER_RULES} rules`));
const filtersSchema = z.strictObject({ include: z.optional(rules), exclude: z.optional(rules) });

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
    awsRegions: z.optional(
      z.array(region).check(z.minLength(1, 'must list at least one region'), z.maxLength(MAX_AWS_REGIONS, `must list at most ${MAX_AWS_REGIONS} regions (more than AWS has)`)),
    ),
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


/** The secret's JSON as the schema accepted it (defaults applied), before it becomes a Connector. */
export type ParsedConnector = z.output<typeof connectorSchema>;
export type DnifAuth = z.output<typeof authSchema>;
export type SyslogTarget = z.output<typeof syslogSchema>;
export type FilterRule = z.output<typeof filterRule>;
export type Filters = z.output<typeof filtersSchema>;

/** The header dnif.auth sets (lower case), which dnif.headers must not set too. */
function authHeaderOf(auth: { type: string; name?: string; header?: string } | undefined): string | undefined {
  if (!auth) return undefined;
  return (auth.type === 'header' ? auth.name : auth.type === 'hmac' ? auth.header : 'authorization')?.toLowerCase();
}

// zod/mini has no messages of its own; describeIssue keys on these English ones.
const english = en().localeError;

function describeIssue(issue: z.core.$ZodIssue): FieldProblem[] {
  const field = issue.path.map(String).join('.') || '(secret)';
  switch (issue.code) {
    case 'unrecognized_keys':
      // A key that looks like a secret (pasted as a key) is named by its position, not echoed.
      return issue.keys.map((k, i) => {
        const key = isShowableKeyName(k) ? k : `(unknown key ${i + 1})`;
        return { field: field === '(secret)' ? key : `${field}.${key}`, problem: 'is not a known field' };
      });
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

/** Checks a parsed JSON object against the schema: the accepted document, or every problem by field. */
export function checkConnectorJson(raw: object): { ok: true; parsed: ParsedConnector } | { ok: false; problems: FieldProblem[] } {
  const result = connectorSchema.safeParse(raw, { error: english });
  return result.success ? { ok: true, parsed: result.data } : { ok: false, problems: result.error.issues.flatMap(describeIssue) };
}
