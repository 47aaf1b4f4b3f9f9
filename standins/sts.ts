/**
 * STS over its query protocol (form-encoded POST, XML answers, XML ErrorResponse), as
 * @aws-sdk/client-sts speaks it: GetCallerIdentity, and AssumeRole against roles the
 * test registers (trust, optional required ExternalId). Issued ASIA… keys go into the
 * shared registry, so the other stand-ins accept them for the role's account.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, header, listenLoopback, readBody } from './http';
import { randomId, randomSecret, type CredentialRegistry, type Principal, type VerifyFailure } from './sigv4';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface RoleSpec {
  /** `arn:aws:iam::<account>:role/<path/>name`. */
  roleArn: string;
  /** When set, AssumeRole must pass exactly this ExternalId. */
  externalId?: string;
  /**
   * Who may assume the role: account ids, `arn:aws:iam::<account>:root` (any principal of
   * that account) or principal/role ARNs. Absent: anyone with a valid key.
   */
  trustedPrincipals?: string[];
  /** IAM actions refused for every session of this role (shared, so later denials apply too). */
  deniedActions?: Iterable<string>;
  /** Longest DurationSeconds accepted (AWS default 3600). */
  maxSessionDurationSeconds?: number;
  /** Real lifetime of issued credentials regardless of DurationSeconds, e.g. 2 for refresh tests. */
  credentialLifetimeSeconds?: number;
}

export interface Role {
  roleArn: string;
  accountId: string;
  roleName: string;
  roleId: string;
  externalId?: string;
  trustedPrincipals?: string[];
  deniedActions: Set<string>;
  maxSessionDurationSeconds: number;
  credentialLifetimeSeconds?: number;
}

export interface IssuedSession {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  principal: Principal;
}

export interface StsOptions {
  registry: CredentialRegistry;
  regions?: readonly string[];
}

export interface StsStandIn {
  url: string;
  addRole(spec: RoleSpec): Role;
  getRole(roleArn: string): Role | undefined;
  /** Every successful AssumeRole, oldest first. */
  readonly sessions: readonly IssuedSession[];
  readonly calls: { GetCallerIdentity: number; AssumeRole: number };
  close(): Promise<void>;
}

class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** `{ A: 'x', B: { C: 'y' } }` → `<A>x</A><B><C>y</C></B>`. */
function toXml(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${typeof v === 'object' && v !== null ? toXml(v as Record<string, unknown>) : escapeXml(String(v))}</${k}>`)
    .join('');
}

function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml), 'x-amzn-RequestId': requestId });
  res.end(xml);
}

function sendResult(res: ServerResponse, action: string, result: Record<string, unknown>): void {
  const requestId = randomUUID();
  sendXml(
    res,
    200,
    `<${action}Response xmlns="${XMLNS}"><${action}Result>${toXml(result)}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    requestId,
  );
}

function sendError(res: ServerResponse, err: StsError): void {
  const requestId = randomUUID();
  sendXml(
    res,
    err.status,
    `<ErrorResponse xmlns="${XMLNS}"><Error>${toXml({ Type: err.type, Code: err.code, Message: err.message })}</Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    requestId,
  );
}

function authError(f: VerifyFailure): StsError {
  switch (f.reason) {
    case 'missing':
      return new StsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    case 'malformed':
      return new StsError('IncompleteSignature', f.message, 400);
    case 'unknown-key':
      return new StsError('InvalidClientTokenId', f.message, 403);
    case 'bad-signature':
      return new StsError('SignatureDoesNotMatch', f.message, 403);
    case 'expired-token':
      return new StsError('ExpiredToken', f.message, 400);
  }
}

function parseRoleArn(arn: string): { accountId: string; roleName: string } | undefined {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  return m ? { accountId: m[1], roleName: m[2] } : undefined;
}

/** The IAM identities a caller counts as in a trust policy. */
function identitiesOf(p: Principal): string[] {
  const ids = [p.accountId, `arn:aws:iam::${p.accountId}:root`, p.userArn];
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(p.userArn);
  if (session) ids.push(`arn:${session[1]}:iam::${session[2]}:role/${session[3]}`);
  return ids;
}

const validation = (message: string) => new StsError('ValidationError', message, 400);

export async function startSts(opts: StsOptions): Promise<StsStandIn> {
  const { registry } = opts;
  const roles = new Map<string, Role>();
  const sessions: IssuedSession[] = [];
  const calls = { GetCallerIdentity: 0, AssumeRole: 0 };

  function assumeRole(caller: Principal, params: URLSearchParams): Record<string, unknown> {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const externalId = params.get('ExternalId') ?? undefined;
    const durationText = params.get('DurationSeconds');
    if (!parseRoleArn(roleArn)) throw validation(`1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint`);
    if (sessionName.length < 2 || sessionName.length > 64) {
      throw validation(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64`);
    }
    if (!/^[\w+=,.@-]+$/.test(sessionName)) {
      throw validation(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
      throw validation(`1 validation error detected: Value at 'externalId' failed to satisfy constraint`);
    }

    const denied = new StsError('AccessDenied', `User: ${caller.userArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    const role = roles.get(roleArn);
    if (!role || !registry.isAllowed(caller.accessKeyId, 'sts:AssumeRole')) throw denied;
    if (role.trustedPrincipals && !identitiesOf(caller).some((id) => role.trustedPrincipals?.includes(id))) throw denied;
    if (role.externalId !== undefined && role.externalId !== externalId) throw denied;

    const duration = durationText === null ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900) {
      throw validation(`1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
    }
    if (duration > role.maxSessionDurationSeconds) {
      throw validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const expiresAt = registry.now() + (role.credentialLifetimeSeconds ?? duration) * 1000;
    const arn = `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${sessionName}`;
    const principal = registry.addKey({
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomSecret(),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(180).toString('base64')}`,
      accountId: role.accountId,
      userArn: arn,
      userId: `${role.roleId}:${sessionName}`,
      expiresAt,
      deniedActions: role.deniedActions,
    });
    sessions.push({ roleArn, sessionName, externalId, principal });
    return {
      Credentials: {
        AccessKeyId: principal.accessKeyId,
        SecretAccessKey: principal.secretAccessKey,
        SessionToken: principal.sessionToken,
        Expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      AssumedRoleUser: { AssumedRoleId: principal.userId, Arn: arn },
      PackedPolicySize: undefined,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (req.method !== 'POST') return sendError(res, new StsError('InvalidAction', 'Only POST is supported here', 400));
    const verified = await registry.verify({ method: req.method, url: req.url ?? '/', headers: req.headers, body }, 'sts');
    if (!verified.ok) return sendError(res, authError(verified));
    if (opts.regions && !opts.regions.includes(verified.region)) {
      return sendError(res, new StsError('SignatureDoesNotMatch', 'Credential should be scoped to a valid region.', 403));
    }
    if (!/^application\/x-www-form-urlencoded\b/.test(header(req, 'content-type') ?? '')) {
      return sendError(res, new StsError('InvalidAction', 'Content-Type must be application/x-www-form-urlencoded', 400));
    }
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action');
    if (params.get('Version') !== '2011-06-15') {
      return sendError(res, new StsError('InvalidAction', `Could not find operation ${action} for version ${params.get('Version')}`, 400));
    }
    const caller = verified.principal;
    try {
      if (action === 'GetCallerIdentity') {
        calls.GetCallerIdentity++;
        return sendResult(res, action, { Arn: caller.userArn, UserId: caller.userId, Account: caller.accountId });
      }
      if (action === 'AssumeRole') {
        calls.AssumeRole++;
        return sendResult(res, action, assumeRole(caller, params));
      }
      return sendError(res, new StsError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400));
    } catch (err) {
      if (err instanceof StsError) return sendError(res, err);
      throw err;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new StsError('InternalFailure', String(err), 500, 'Receiver'));
      else res.destroy();
    });
  });
  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    addRole(spec) {
      const parsed = parseRoleArn(spec.roleArn);
      if (!parsed) throw new Error(`not an IAM role ARN: ${spec.roleArn}`);
      const role: Role = {
        roleArn: spec.roleArn,
        ...parsed,
        roleId: `AROA${randomId(17)}`,
        externalId: spec.externalId,
        trustedPrincipals: spec.trustedPrincipals,
        deniedActions: new Set(spec.deniedActions ?? []),
        maxSessionDurationSeconds: spec.maxSessionDurationSeconds ?? 3600,
        credentialLifetimeSeconds: spec.credentialLifetimeSeconds,
      };
      roles.set(spec.roleArn, role);
      return role;
    },
    getRole: (arn) => roles.get(arn),
    sessions,
    calls,
    close: () => closeServer(server),
  };
}
