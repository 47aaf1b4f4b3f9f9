/**
 * The connector: the JSON kept in Secrets Manager, mirroring DNIF's "AWS CloudTrail"
 * connector form (Connector Name, AWS Access Key, AWS Secret Key, AWS Region) plus where
 * and how to deliver (SPEC.md, "The connector secret"), in the shape the code uses, and the
 * values in it that must never be shown. The JSON's rules are connector-schema.ts.
 */
import { checkConnectorJson, type DnifAuth, type FieldProblem, type Filters, type ParsedConnector, type SyslogTarget } from './connector-schema';

// The schema's parts of a Connector, named here too so users of the Connector need one import.
export type { DnifAuth, FieldProblem, FilterRule, Filters, SyslogTarget } from './connector-schema';

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
  const checked = checkConnectorJson(raw);
  if (!checked.ok) throw new ConnectorValidationError(checked.problems);
  return toConnector(checked.parsed);
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
  if (a?.type === 'basic') values.push(a.password, Buffer.from(`${a.username}:${a.password}`, 'utf8').toString('base64'));
  if (a?.type === 'header') values.push(a.value);
  if (a?.type === 'hmac') values.push(a.secret);
  // Extra headers usually carry API keys; a URL's query may carry a token.
  values.push(...Object.values(c.http?.headers ?? {}));
  if (c.http) values.push(...urlSecretsOf(c.http.url));
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** The user part and query values of a URL (refused by the schema, hidden all the same). */
export function urlSecretsOf(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [];
  }
  const decoded = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const values = [url.username, url.password, decoded(url.username), decoded(url.password), `${url.username}:${url.password}`, ...url.searchParams.values()];
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
