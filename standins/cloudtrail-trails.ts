/**
 * The trail side of the CloudTrail stand-in: trails (DescribeTrails, GetTrailStatus with
 * settable logging state and delivery errors) and the regional digest signing keys
 * (ListPublicKeys: `Value` = DER of the RSA public key in PKCS#1, as the AWS CLI loads it,
 * `Fingerprint` = hex MD5 of that DER, validity times). A key pair that is never published
 * is there for "signed with another key" tests.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AwsError, type JsonCall, type JsonOperation } from './aws-json';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#1 DER of the public key: ListPublicKeys' `Value`. */
  der: Buffer;
  fingerprint: string;
  /** Epoch ms. */
  validFrom: number;
  validTo: number;
}

export interface TrailSpec {
  name: string;
  accountId: string;
  homeRegion: string;
  bucket: string;
  prefix?: string;
  multiRegion?: boolean;
  organization?: boolean;
  logFileValidation?: boolean;
  kmsKeyId?: string;
  snsTopicArn?: string;
}

export interface TrailStatus {
  isLogging: boolean;
  latestDeliveryError?: string;
  latestDigestDeliveryError?: string;
  latestNotificationError?: string;
  /** Epoch ms. */
  latestDeliveryTime?: number;
  latestDigestDeliveryTime?: number;
  startLoggingTime?: number;
  stopLoggingTime?: number;
}

export interface Trail extends Required<Pick<TrailSpec, 'name' | 'accountId' | 'homeRegion' | 'bucket'>> {
  arn: string;
  spec: TrailSpec;
  status: TrailStatus;
}

// RSA generation costs ~100 ms a key: generated once per process and shared by every stand-in.
const keyPool: Array<{ privateKey: KeyObject; publicKey: KeyObject }> = [];
function pooledKeyPair(i: number): { privateKey: KeyObject; publicKey: KeyObject } {
  while (keyPool.length <= i) keyPool.push(generateKeyPairSync('rsa', { modulusLength: 2048 }));
  return keyPool[i];
}

function signingKey(pair: { privateKey: KeyObject; publicKey: KeyObject }, validFrom: number, validTo: number): SigningKey {
  const der = pair.publicKey.export({ type: 'pkcs1', format: 'der' });
  return { ...pair, der, fingerprint: createHash('md5').update(der).digest('hex'), validFrom, validTo };
}

const FAR_FUTURE = Date.parse('2100-01-01T00:00:00Z');

export class TrailRegistry {
  private readonly trails: Trail[] = [];
  private readonly keys = new Map<string, SigningKey[]>();
  private nextPoolIndex = 1; // index 0 is the unpublished key
  readonly unpublishedKey: SigningKey;

  constructor(private readonly now: () => number) {
    this.unpublishedKey = signingKey(pooledKeyPair(0), 0, FAR_FUTURE);
  }

  addTrail(spec: TrailSpec): Trail {
    const arn = `arn:aws:cloudtrail:${spec.homeRegion}:${spec.accountId}:trail/${spec.name}`;
    if (this.trails.some((t) => t.arn === arn)) throw new Error(`trail ${arn} exists`);
    const t: Trail = { name: spec.name, accountId: spec.accountId, homeRegion: spec.homeRegion, bucket: spec.bucket, arn, spec, status: { isLogging: true, startLoggingTime: this.now() } };
    this.trails.push(t);
    return t;
  }

  trail(nameOrArn: string): Trail | undefined {
    return this.trails.find((t) => t.arn === nameOrArn || t.name === nameOrArn);
  }

  /** Change what GetTrailStatus reports (logging stopped, delivery errors, …). */
  setStatus(nameOrArn: string, status: Partial<TrailStatus>): void {
    const t = this.trail(nameOrArn);
    if (!t) throw new Error(`no trail ${nameOrArn}`);
    if (status.isLogging === false && t.status.isLogging) status = { stopLoggingTime: this.now(), ...status };
    if (status.isLogging === true && !t.status.isLogging) status = { startLoggingTime: this.now(), ...status };
    t.status = { ...t.status, ...status };
  }

  /** The region's key valid at `at` (default now); made on first use, valid from 2000 on. */
  signingKey(region: string, at = this.now()): SigningKey {
    const list = this.regionKeys(region);
    const k = list.find((x) => x.validFrom <= at && at < x.validTo);
    if (!k) throw new Error(`no ${region} signing key valid at ${new Date(at).toISOString()}`);
    return k;
  }

  /** Start a new key for the region at `at`; the current one stops being valid then. */
  rotateKey(region: string, at = this.now()): SigningKey {
    const list = this.regionKeys(region);
    const current = list[list.length - 1];
    current.validTo = at;
    const k = signingKey(pooledKeyPair(this.nextPoolIndex++), at, FAR_FUTURE);
    list.push(k);
    return k;
  }

  publicKeys(region: string): readonly SigningKey[] {
    return this.regionKeys(region);
  }

  operations(): Record<string, JsonOperation> {
    return {
      ListPublicKeys: { action: 'cloudtrail:ListPublicKeys', handle: (c) => this.listPublicKeys(c) },
      GetTrailStatus: { action: 'cloudtrail:GetTrailStatus', handle: (c) => this.getTrailStatus(c) },
      DescribeTrails: { action: 'cloudtrail:DescribeTrails', handle: (c) => this.describeTrails(c) },
    };
  }

  private regionKeys(region: string): SigningKey[] {
    let list = this.keys.get(region);
    if (!list) this.keys.set(region, (list = [signingKey(pooledKeyPair(this.nextPoolIndex++), Date.parse('2000-01-01T00:00:00Z'), FAR_FUTURE)]));
    return list;
  }

  private listPublicKeys({ input, region }: JsonCall): unknown {
    const t = this.now();
    const seconds = (v: unknown, field: string) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number') throw new AwsError('SerializationException', `${field} must be a timestamp in epoch seconds`);
      return v * 1000;
    };
    const start = seconds(input.StartTime, 'StartTime') ?? t;
    const end = seconds(input.EndTime, 'EndTime') ?? t;
    if (start > end) throw new AwsError('InvalidTimeRangeException', 'Start time must not be after end time.');
    const keys = this.regionKeys(region).filter((k) => k.validFrom <= end && k.validTo > start);
    return {
      PublicKeyList: keys.map((k) => ({
        Value: k.der.toString('base64'),
        ValidityStartTime: k.validFrom / 1000,
        ValidityEndTime: Math.min(k.validTo, FAR_FUTURE) / 1000,
        Fingerprint: k.fingerprint,
      })),
    };
  }

  private visible(accountId: string, t: Trail): boolean {
    return t.accountId === accountId || t.spec.organization === true;
  }

  private getTrailStatus({ input, principal }: JsonCall): unknown {
    const name = input.Name;
    if (typeof name !== 'string' || name === '') throw new AwsError('InvalidTrailNameException', 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).');
    const t = this.trail(name);
    if (!t || !this.visible(principal.accountId, t)) throw new AwsError('TrailNotFoundException', `Unknown trail: ${name} for the user: ${principal.accountId}`);
    const s = t.status;
    const sec = (ms?: number) => (ms === undefined ? undefined : ms / 1000);
    return {
      IsLogging: s.isLogging,
      LatestDeliveryError: s.latestDeliveryError,
      LatestNotificationError: s.latestNotificationError,
      LatestDeliveryTime: sec(s.latestDeliveryTime),
      LatestDigestDeliveryTime: sec(s.latestDigestDeliveryTime),
      LatestDigestDeliveryError: s.latestDigestDeliveryError,
      StartLoggingTime: sec(s.startLoggingTime),
      StopLoggingTime: sec(s.stopLoggingTime),
      TimeLoggingStarted: s.startLoggingTime === undefined ? undefined : new Date(s.startLoggingTime).toISOString(),
      TimeLoggingStopped: s.stopLoggingTime === undefined ? undefined : new Date(s.stopLoggingTime).toISOString(),
    };
  }

  private describeTrails({ input, principal, region }: JsonCall): unknown {
    const names = input.trailNameList as string[] | undefined;
    const shadows = input.includeShadowTrails !== false;
    const list = this.trails.filter(
      (t) =>
        this.visible(principal.accountId, t) &&
        (t.homeRegion === region || (shadows && t.spec.multiRegion)) &&
        (!names || names.length === 0 || names.includes(t.name) || names.includes(t.arn)),
    );
    return {
      trailList: list.map((t) => ({
        Name: t.name,
        S3BucketName: t.bucket,
        S3KeyPrefix: t.spec.prefix,
        SnsTopicARN: t.spec.snsTopicArn,
        SnsTopicName: t.spec.snsTopicArn?.split(':').pop(),
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: t.spec.multiRegion ?? false,
        HomeRegion: t.homeRegion,
        TrailARN: t.arn,
        LogFileValidationEnabled: t.spec.logFileValidation ?? true,
        KmsKeyId: t.spec.kmsKeyId,
        HasCustomEventSelectors: false,
        HasInsightSelectors: false,
        IsOrganizationTrail: t.spec.organization ?? false,
      })),
    };
  }
}
