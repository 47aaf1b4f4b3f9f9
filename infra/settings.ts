/**
 * Stack options: the props a caller may give, their defaults and their checks. The same
 * options come from `cdk -c name=value` through `optionsFromContext` (infra/app.ts).
 */
import { DEFAULTS } from '../functions/core/config';
import type { TrailAuditOptions } from './trail-audit';

export type FunctionUrlAuth = 'AWS_IAM' | 'NONE';

export interface ForwarderOptions extends TrailAuditOptions {
  /** Minutes between forwarder runs (1-60). @default 5 */
  readonly scheduleMinutes?: number;
  /** Regions the function's own role may call LookupEvents in (aws:RequestedRegion). @default any region */
  readonly regions?: string[];
  /** Use this existing connector secret (complete or partial ARN) instead of creating one. */
  readonly secretArn?: string;
  /** KMS key ARN of the imported secret, if it is a customer managed key (grants kms:Decrypt). */
  readonly secretKmsKeyArn?: string;
  /** Name of the secret the stack creates. @default `<stackName>/connector` */
  readonly secretName?: string;
  /** A role the connector assumes (`roleArn` in the secret); grants sts:AssumeRole on exactly it. */
  readonly roleArn?: string;
  /** Forwarder memory (MB). @default 512 */
  readonly memorySize?: number;
  /** Days to keep both functions' logs. @default 365 */
  readonly logRetentionDays?: number;
  /** Test-connection URL auth; NONE makes it public and must be asked for. @default AWS_IAM */
  readonly functionUrlAuth?: FunctionUrlAuth;
  /** Subscribe this address to the alarm topic. */
  readonly alarmEmail?: string;
  /** Send alarms to this existing topic instead of creating one. */
  readonly alarmTopicArn?: string;
  /** Alarm when no event was forwarded for this many hours (1-24). @default no alarm */
  readonly noEventsAlarmHours?: number;
  /** Alarm when LagSeconds stays above this. @default 1800 */
  readonly lagAlarmSeconds?: number;
  /** SPEC env LATENESS_SECONDS. @default 900 */
  readonly latenessSeconds?: number;
  /** SPEC env BACKFILL_SECONDS. @default 3600 */
  readonly backfillSeconds?: number;
  /** SPEC env BATCH_MAX_EVENTS. @default 500 */
  readonly batchMaxEvents?: number;
  /** SPEC env BATCH_MAX_BYTES. @default 1000000 */
  readonly batchMaxBytes?: number;
}

/** Every option with its default applied and checked. */
export interface Settings {
  readonly scheduleMinutes: number;
  readonly regions?: string[];
  readonly secretArn?: string;
  readonly secretKmsKeyArn?: string;
  readonly secretName?: string;
  readonly roleArn?: string;
  readonly memorySize: number;
  readonly logRetentionDays: number;
  readonly functionUrlAuth: FunctionUrlAuth;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  readonly noEventsAlarmHours?: number;
  readonly lagAlarmSeconds: number;
  readonly latenessSeconds: number;
  readonly backfillSeconds: number;
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
}

/** Values CloudWatch Logs accepts for a retention period. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w/+=,.@-]+$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class OptionError extends Error {
  constructor(option: string, problem: string) {
    super(`Option ${option} ${problem}`);
    this.name = 'OptionError';
  }
}

function int(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(option, `must be a whole number from ${min} to ${max}, got ${n}`);
  return n;
}

function matching(option: string, value: string | undefined, pattern: RegExp, what: string): string | undefined {
  if (value !== undefined && !pattern.test(value)) throw new OptionError(option, `must be ${what}, got "${value}"`);
  return value;
}

/** Apply defaults and check every option; throws OptionError naming the first bad one. */
export function resolveSettings(o: ForwarderOptions): Settings {
  if (o.functionUrlAuth !== undefined && o.functionUrlAuth !== 'AWS_IAM' && o.functionUrlAuth !== 'NONE') {
    throw new OptionError('functionUrlAuth', `must be AWS_IAM or NONE, got "${String(o.functionUrlAuth)}"`);
  }
  if (o.secretArn && o.secretName) {
    throw new OptionError('secretName', 'names the secret this stack creates; with secretArn it creates none, so give only one');
  }
  if (o.secretKmsKeyArn && !o.secretArn) {
    throw new OptionError('secretKmsKeyArn', 'is for an imported secret (secretArn); the created secret uses the stack key');
  }
  const regions = o.regions?.length ? o.regions : undefined;
  for (const r of regions ?? []) matching('regions', r, REGION, 'AWS region codes such as us-east-1');
  const logRetentionDays = int('logRetentionDays', o.logRetentionDays, 365, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new OptionError('logRetentionDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }
  return {
    // An interval above an hour leaves events waiting in Event history for no gain; 60 also keeps
    // every alarm's period x evaluation periods within CloudWatch's one-day limit.
    scheduleMinutes: int('scheduleMinutes', o.scheduleMinutes, 5, 1, 60),
    regions,
    secretArn: matching('secretArn', o.secretArn, SECRET_ARN, 'a Secrets Manager secret ARN'),
    secretKmsKeyArn: matching('secretKmsKeyArn', o.secretKmsKeyArn, KMS_KEY_ARN, 'a KMS key ARN (arn:...:key/<id>)'),
    secretName: matching('secretName', o.secretName, SECRET_NAME, 'a Secrets Manager secret name'),
    roleArn: matching('roleArn', o.roleArn, ROLE_ARN, 'an IAM role ARN'),
    memorySize: int('memorySize', o.memorySize, 512, 128, 10240),
    logRetentionDays,
    functionUrlAuth: o.functionUrlAuth ?? 'AWS_IAM',
    alarmEmail: matching('alarmEmail', o.alarmEmail, EMAIL, 'an e-mail address'),
    alarmTopicArn: matching('alarmTopicArn', o.alarmTopicArn, TOPIC_ARN, 'an SNS topic ARN'),
    noEventsAlarmHours: o.noEventsAlarmHours === undefined ? undefined : int('noEventsAlarmHours', o.noEventsAlarmHours, 0, 1, 24),
    lagAlarmSeconds: int('lagAlarmSeconds', o.lagAlarmSeconds, 1800, 60, 7 * 86400),
    // Same bounds as functions/core/config.ts, so a bad value fails at synth, not at run time.
    latenessSeconds: int('latenessSeconds', o.latenessSeconds, DEFAULTS.latenessSeconds, 0, 90 * 86400),
    backfillSeconds: int('backfillSeconds', o.backfillSeconds, DEFAULTS.backfillSeconds, 0, 90 * 86400),
    batchMaxEvents: int('batchMaxEvents', o.batchMaxEvents, DEFAULTS.batchMaxEvents, 1, 100_000),
    batchMaxBytes: int('batchMaxBytes', o.batchMaxBytes, DEFAULTS.batchMaxBytes, 1024, 100_000_000),
  };
}

/** Reads `-c name=value` (strings) or JSON context (numbers, arrays) into options. */
export function optionsFromContext(get: (key: string) => unknown): ForwarderOptions {
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new OptionError(key, 'must be a string');
    return String(v).trim();
  };
  const num = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new OptionError(key, `must be a whole number, got "${v}"`);
    return Number(v);
  };
  const list = (key: string): string[] | undefined => {
    const v = get(key);
    if (Array.isArray(v)) return v.map(String);
    return str(key)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  };
  return {
    scheduleMinutes: num('scheduleMinutes'),
    regions: list('regions'),
    secretArn: str('secretArn'),
    secretKmsKeyArn: str('secretKmsKeyArn'),
    secretName: str('secretName'),
    roleArn: str('roleArn'),
    memorySize: num('memorySize'),
    logRetentionDays: num('logRetentionDays'),
    functionUrlAuth: str('functionUrlAuth') as FunctionUrlAuth | undefined,
    alarmEmail: str('alarmEmail'),
    alarmTopicArn: str('alarmTopicArn'),
    noEventsAlarmHours: num('noEventsAlarmHours'),
    lagAlarmSeconds: num('lagAlarmSeconds'),
    latenessSeconds: num('latenessSeconds'),
    backfillSeconds: num('backfillSeconds'),
    batchMaxEvents: num('batchMaxEvents'),
    batchMaxBytes: num('batchMaxBytes'),
    auditLookbackHours: num('auditLookbackHours'),
  };
}
