/**
 * The construct's options in one table: each one's kind, default and check. Props
 * (cloudtrail-to-dnif-props.ts) are checked against it, and `cdk -c name=value` is read
 * through it (optionsFromContext), so a typo'd key or a bad value stops the synth with one line.
 * Numeric bounds of the function settings come from the contract (functions/core/contract.ts).
 * Words: options are what a user gives (props, `-c`); settings are the options resolved, every
 * default applied (`Settings`); the functions call what they read from their environment config.
 */
import { CONNECTOR_NAME_PATTERN, NUMBER_SETTINGS, readNumber, REGION_PATTERN } from '../functions/core/contract';
import type { CloudTrailToDnifOptions, CloudTrailToDnifProps, ConnectorOptions, ConnectorProps } from './cloudtrail-to-dnif-props';
import { resolveS3Settings, s3OptionsFromContext, TRAIL_FILE_OPTION_NAMES, trailFileOptionsOf, type S3SourceSettings } from './s3-settings';
import { resolveTrailAudit, type TrailAuditSettings } from './trail-audit';

export class OptionError extends Error {
  constructor(option: string, problem: string) {
    super(`Option ${option} ${problem}`);
    this.name = 'OptionError';
  }
}

/** Values CloudWatch Logs accepts for a retention period. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

type Spec =
  | { kind: 'number'; min: number; max: number; default?: number; oneOf?: readonly number[] }
  | { kind: 'string'; pattern?: RegExp; what?: string; oneOf?: readonly string[] }
  | { kind: 'list'; pattern: RegExp; what: string }
  | { kind: 'connectors' };

const arn = (service: string, resource: string) => new RegExp(`^arn:aws[a-z-]*:${service}:${resource}$`);
const fromContract = (s: { min: number; max: number; default: number }): Spec => ({ kind: 'number', min: s.min, max: s.max, default: s.default });

/** Options a connector may set for itself; the same names at the top level are the defaults. */
const CONNECTOR_SPECS = {
  source: { kind: 'string', oneOf: ['lookup-events', 's3'] },
  scheduleMinutes: { kind: 'number', min: 1, max: 60, default: 5 },
  regions: { kind: 'list', pattern: REGION_PATTERN, what: 'AWS region codes such as us-east-1' },
  secretArn: { kind: 'string', pattern: arn('secretsmanager', '[a-z0-9-]+:\\d{12}:secret:[\\w/+=.@-]+'), what: 'a Secrets Manager secret ARN' },
  secretKmsKeyArn: { kind: 'string', pattern: arn('kms', '[a-z0-9-]+:\\d{12}:key/[\\w-]+'), what: 'a KMS key ARN (arn:...:key/<id>)' },
  secretName: { kind: 'string', pattern: /^[\w/+=.@-]{1,512}$/, what: 'a Secrets Manager secret name' },
  roleArn: { kind: 'string', pattern: arn('iam', ':\\d{12}:role/[\\w/+=,.@-]+'), what: 'an IAM role ARN' },
} as const satisfies Record<string, Spec>;

/** Every option, by the name it has in props and in `-c name=value`. */
export const OPTION_SPECS = {
  ...CONNECTOR_SPECS,
  connectors: { kind: 'connectors' },
  memorySize: { kind: 'number', min: 128, max: 10240, default: 512 },
  logRetentionDays: { kind: 'number', min: 1, max: 3653, default: 365, oneOf: LOG_RETENTION_DAYS },
  functionUrlAuth: { kind: 'string', oneOf: ['AWS_IAM', 'NONE'] },
  alarmEmail: { kind: 'string', pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, what: 'an e-mail address' },
  alarmTopicArn: { kind: 'string', pattern: arn('sns', '[a-z0-9-]+:\\d{12}:[\\w-]+'), what: 'an SNS topic ARN' },
  noEventsAlarmHours: { kind: 'number', min: 1, max: 24 },
  lagAlarmSeconds: { kind: 'number', min: 60, max: 7 * 86400, default: 1800 },
  deliveryDelayAlarmSeconds: { kind: 'number', min: 60, max: 86400 },
  latenessSeconds: fromContract(NUMBER_SETTINGS.latenessSeconds),
  backfillSeconds: fromContract(NUMBER_SETTINGS.backfillSeconds),
  batchMaxEvents: fromContract(NUMBER_SETTINGS.batchMaxEvents),
  batchMaxBytes: fromContract(NUMBER_SETTINGS.batchMaxBytes),
} as const satisfies Record<string, Spec>;

export type OptionName = keyof typeof OPTION_SPECS;

/** Connector fields beyond the shared options. */
const CONNECTOR_OWN_FIELDS = ['name'] as const;

/** Checks one value against its option; returns it (numbers as numbers) or throws OptionError. */
export function checkOption(option: string, spec: Spec, value: unknown): unknown {
  if (value === undefined) return undefined;
  switch (spec.kind) {
    case 'number': {
      const read = typeof value === 'number' || typeof value === 'string' ? readNumber(value, spec) : undefined;
      if (!read || 'problem' in read) throw new OptionError(option, `must be a whole number from ${spec.min} to ${spec.max}, got ${JSON.stringify(value)}`);
      if (spec.oneOf && !spec.oneOf.includes(read.value)) throw new OptionError(option, `must be one of ${spec.oneOf.join(', ')}, got ${read.value}`);
      return read.value;
    }
    case 'string': {
      if (typeof value !== 'string') throw new OptionError(option, `must be a string, got ${JSON.stringify(value)}`);
      if (spec.oneOf && !spec.oneOf.includes(value)) throw new OptionError(option, `must be ${spec.oneOf.join(' or ')}, got "${value}"`);
      if (spec.pattern && !spec.pattern.test(value)) throw new OptionError(option, `must be ${spec.what}, got "${value}"`);
      return value;
    }
    case 'list': {
      if (!Array.isArray(value)) throw new OptionError(option, `must be a list of ${spec.what}`);
      for (const v of value) if (typeof v !== 'string' || !spec.pattern.test(v)) throw new OptionError(option, `must be ${spec.what}, got "${String(v)}"`);
      return value.length ? value : undefined;
    }
    case 'connectors':
      if (!Array.isArray(value)) throw new OptionError(option, 'must be a list of connectors ([{ "name": ..., "secretArn": ... }])');
      return value;
  }
}

/** Checks every option given (not the connectors' own fields: see resolveConnectors). */
export function checkOptions(o: CloudTrailToDnifOptions): void {
  for (const [name, spec] of Object.entries(OPTION_SPECS)) checkOption(name, spec, (o as Record<string, unknown>)[name]);
}

/** Checks one connector of `connectors` (index i); unknown fields get a "did you mean". */
export function checkConnector(c: ConnectorOptions, i: number): void {
  const where = (field: string) => `connectors[${i}].${field}`;
  if (typeof c !== 'object' || c === null) throw new OptionError(`connectors[${i}]`, 'must be an object with a name');
  const known = [...CONNECTOR_OWN_FIELDS, ...Object.keys(CONNECTOR_SPECS), ...TRAIL_FILE_OPTION_NAMES, 'existingSecret'];
  for (const key of Object.keys(c)) {
    if (!known.includes(key)) throw new OptionError(where(key), `is not a connector option${didYouMean(key, known)}`);
  }
  for (const [name, spec] of Object.entries(CONNECTOR_SPECS)) checkOption(where(name), spec, (c as unknown as Record<string, unknown>)[name]);
}

/**
 * Reads `-c name=value` (strings) or JSON context (numbers, arrays) into options. `connectors`
 * is JSON (a string on the command line, an array in cdk.json). Every key of `context` must be
 * an option, `stackName`, or CDK's own; anything else stops with a "did you mean".
 */
export function optionsFromContext(context: Record<string, unknown>): CloudTrailToDnifOptions {
  const trailKeys: readonly string[] = TRAIL_FILE_OPTION_NAMES;
  for (const key of Object.keys(context)) {
    if (isCdkContextKey(key) || key === 'stackName' || key in OPTION_SPECS || trailKeys.includes(key)) continue;
    throw new OptionError(key, `is not an option of this app${didYouMean(key, [...Object.keys(OPTION_SPECS), ...trailKeys, 'stackName'])} (docs/deploy.md, "Options")`);
  }
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTION_SPECS)) {
    let v = context[name];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'string') v = v.trim();
    if (spec.kind === 'list' && typeof v === 'string') v = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (spec.kind === 'connectors' && typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        throw new OptionError(name, `must be JSON, e.g. '[{"name":"prod","secretArn":"arn:..."}]'`);
      }
    }
    options[name] = checkOption(name, spec, v);
  }
  // The trail-file options (s3-settings.ts) are checked with their connector by resolveSettings.
  return { ...trailFileOptionsOf(s3OptionsFromContext((key) => context[key])), ...options } as CloudTrailToDnifOptions;
}

/**
 * Context keys CDK itself or its tooling sets: feature flags (`@aws-cdk/...`), `aws:cdk:*`, the
 * cached lookups of cdk.context.json (`availability-zones:account=...`), cdk-nag's, the CLI's.
 */
export function isCdkContextKey(key: string): boolean {
  return key.includes(':') || key.startsWith('@') || key.startsWith('cdk') || key.startsWith('aws-cdk') || CDK_PLAIN_KEYS.has(key);
}
const CDK_PLAIN_KEYS = new Set(['assetMetadata', 'pathMetadata', 'versionReporting', 'acknowledged-issue-numbers', 'bundling-stacks']);

/** ` (did you mean "x"?)` for the nearest known name within two edits, else ''. */
export function didYouMean(given: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(given.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** One connector with its defaults applied. */
export interface ResolvedConnector {
  readonly name: string;
  readonly source: 'lookup-events' | 's3';
  readonly scheduleMinutes: number;
  readonly regions?: string[];
  readonly roleArn?: string;
  readonly secretArn?: string;
  readonly secretKmsKeyArn?: string;
  readonly secretName?: string;
  readonly existingSecret?: ConnectorProps['existingSecret'];
  /** Set exactly when source is 's3': the trail, its queue's sizing and its alarms. */
  readonly s3?: S3SourceSettings;
  /** Set exactly when source is 's3': the hourly digest audit of that trail (infra/trail-audit.ts). */
  readonly audit?: TrailAuditSettings;
  /**
   * The one-connector form (no `connectors`): its resources keep the construct ids of the
   * single-connector stack, and its schedule sends the plain scheduled event (SECRET_ID).
   */
  readonly implicit: boolean;
}

/** Every option with its default applied and checked. */
export interface Settings {
  readonly connectors: ResolvedConnector[];
  readonly memorySize: number;
  readonly logRetentionDays: number;
  readonly functionUrlAuth: 'AWS_IAM' | 'NONE';
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  readonly noEventsAlarmHours?: number;
  readonly lagAlarmSeconds: number;
  readonly deliveryDelayAlarmSeconds?: number;
  readonly latenessSeconds: number;
  readonly backfillSeconds: number;
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
}

/** The name the one-connector form's connector goes by (it adds no `connector` dimension). */
export const IMPLICIT_CONNECTOR = 'default';

/** Apply defaults and check every option; throws OptionError naming the first bad one. */
export function resolveSettings(o: CloudTrailToDnifProps): Settings {
  checkOptions(o);
  const d = <K extends keyof typeof OPTION_SPECS>(k: K): number => {
    const spec = OPTION_SPECS[k] as { default?: number };
    return (checkOption(k, OPTION_SPECS[k], (o as Record<string, unknown>)[k]) as number | undefined) ?? (spec.default as number);
  };
  const num = (k: keyof typeof OPTION_SPECS) => checkOption(k, OPTION_SPECS[k], (o as Record<string, unknown>)[k]) as number | undefined;
  const resolve = (c: ConnectorProps, implicit: boolean, where: (f: string) => string): ResolvedConnector => {
    if (c.secretArn && c.secretName) {
      throw new OptionError(where('secretName'), 'names the secret this stack creates; with secretArn it creates none, so give only one');
    }
    if (c.secretKmsKeyArn && !c.secretArn) {
      throw new OptionError(where('secretKmsKeyArn'), 'is for an imported secret (secretArn); the created secret uses its own key');
    }
    if (c.existingSecret && (c.secretArn || c.secretName)) {
      throw new OptionError(where('existingSecret'), 'is the secret itself: give it, or secretArn/secretName, not both');
    }
    const source = c.source ?? o.source ?? 'lookup-events';
    // Each trail-file option of the connector, else the top-level one.
    const trail = { ...trailFileOptionsOf(o), ...trailFileOptionsOf(c) };
    const trailWhere = (f: string) => (!implicit && f in trailFileOptionsOf(o) && !(f in trailFileOptionsOf(c)) ? f : where(f));
    const s3 = resolveS3Settings({ ...trail, source }, trailWhere);
    const audit = s3 && resolveTrailAudit(trail, s3, trailWhere);
    const misplaced = (fields: readonly string[], on: object) => fields.find((f) => (on as Record<string, unknown>)[f] !== undefined);
    const eventHistoryOnly = source === 's3' && !implicit && misplaced(['scheduleMinutes', 'regions'], c);
    if (eventHistoryOnly) throw new OptionError(where(eventHistoryOnly), 'is for a connector with source "lookup-events" (a trail-file connector runs on notifications, not a schedule)');
    const trailOnly = source !== 's3' && misplaced(TRAIL_FILE_OPTION_NAMES, implicit ? o : c);
    if (trailOnly) throw new OptionError(where(trailOnly), 'is for a connector with source "s3" (set source to "s3", or -c source=s3)');
    return {
      name: c.name,
      source,
      scheduleMinutes: (checkOption(where('scheduleMinutes'), OPTION_SPECS.scheduleMinutes, c.scheduleMinutes) as number | undefined) ?? d('scheduleMinutes'),
      regions: c.regions?.length ? c.regions : o.regions?.length ? o.regions : undefined,
      roleArn: c.roleArn ?? o.roleArn,
      secretArn: c.secretArn,
      secretKmsKeyArn: c.secretKmsKeyArn,
      secretName: c.secretName,
      existingSecret: c.existingSecret,
      s3,
      audit,
      implicit,
    };
  };

  let connectors: ResolvedConnector[];
  if (o.connectors) {
    for (const key of ['secretArn', 'secretName', 'secretKmsKeyArn', 'existingSecret'] as const) {
      if (o[key] !== undefined) throw new OptionError(key, 'is for the one-connector form; with connectors, give each connector its own');
    }
    if (o.connectors.length === 0) throw new OptionError('connectors', 'must list at least one connector');
    const seen = new Set<string>();
    connectors = o.connectors.map((c, i) => {
      checkConnector(c, i);
      if (typeof c.name !== 'string' || !CONNECTOR_NAME_PATTERN.test(c.name)) {
        throw new OptionError(`connectors[${i}].name`, `must be 1-64 letters, digits, "-" or "_", got ${JSON.stringify(c.name)}`);
      }
      // Names become statement ids and output ids (letters and digits only): those must differ too.
      const key = c.name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
      if (seen.has(key)) throw new OptionError(`connectors[${i}].name`, `"${c.name}" is used twice (names must differ in more than case, "-" and "_")`);
      seen.add(key);
      return resolve(c, false, (f) => `connectors[${i}].${f}`);
    });
    const unused = !connectors.some((c) => c.s3) && Object.keys(trailFileOptionsOf(o))[0];
    if (unused) throw new OptionError(unused, 'is a default for connectors with source "s3", and none has it');
  } else {
    connectors = [resolve({ ...o, name: IMPLICIT_CONNECTOR }, true, (f) => f)];
  }

  return {
    connectors,
    memorySize: d('memorySize'),
    logRetentionDays: d('logRetentionDays'),
    functionUrlAuth: o.functionUrlAuth ?? 'AWS_IAM',
    alarmEmail: o.alarmEmail,
    alarmTopicArn: o.alarmTopicArn,
    noEventsAlarmHours: num('noEventsAlarmHours'),
    lagAlarmSeconds: d('lagAlarmSeconds'),
    deliveryDelayAlarmSeconds: num('deliveryDelayAlarmSeconds'),
    latenessSeconds: d('latenessSeconds'),
    backfillSeconds: d('backfillSeconds'),
    batchMaxEvents: d('batchMaxEvents'),
    batchMaxBytes: d('batchMaxBytes'),
  };
}
