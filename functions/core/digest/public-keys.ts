/**
 * CloudTrail's digest-signing public keys, per region: one ListPublicKeys call (all pages) per
 * region and run, covering the audit window, then looked up by `digestPublicKeyFingerprint`.
 * CloudTrail signs with a key pair per region, so the call goes to the digest's own region.
 */
import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { KeyObject } from 'node:crypto';
import { publicKeyFromDer } from './signature';

export class PublicKeyDirectory {
  private readonly byRegion = new Map<string, Promise<Map<string, KeyObject>>>();

  constructor(
    private readonly clientFor: (region: string) => CloudTrailClient,
    private readonly window: { start: Date; end: Date },
  ) {}

  /** The key with this fingerprint in `region`, or undefined when CloudTrail lists none. */
  async find(region: string, fingerprint: string): Promise<KeyObject | undefined> {
    let keys = this.byRegion.get(region);
    if (!keys) {
      keys = this.load(region);
      this.byRegion.set(region, keys);
      // A failed call is not cached: the next digest of the region asks again.
      keys.catch(() => this.byRegion.delete(region));
    }
    return (await keys).get(fingerprint.toLowerCase());
  }

  private async load(region: string): Promise<Map<string, KeyObject>> {
    const client = this.clientFor(region);
    const keys = new Map<string, KeyObject>();
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListPublicKeysCommand({ StartTime: this.window.start, EndTime: this.window.end, NextToken: nextToken }),
      );
      for (const k of page.PublicKeyList ?? []) {
        if (!k.Fingerprint || !k.Value) continue;
        try {
          keys.set(k.Fingerprint.toLowerCase(), publicKeyFromDer(k.Value));
        } catch {
          // An unreadable key verifies nothing; digests naming it are reported invalid.
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return keys;
  }
}
