/** DNIF receiver credentials of each auth mode, with secrets drawn from the schedule's stream. */
import { randomBytes } from 'node:crypto';
import type { ReceiverAuth } from '../../../../standins';
import type { AuthMode } from './schedule-spec';
import type { Rng } from './suite';

const secretOf = (rnd: Rng) => randomBytes(4).toString('hex') + Math.floor(rnd() * 2 ** 48).toString(36) + 'Zq9';

export function authFor(mode: AuthMode, rnd: Rng): ReceiverAuth {
  switch (mode) {
    case 'bearer':
      return { type: 'bearer', token: `tok-${secretOf(rnd)}` };
    case 'basic':
      return { type: 'basic', username: 'dnif-forwarder', password: `pw-${secretOf(rnd)}` };
    case 'header':
      return { type: 'header', name: 'X-Api-Key', value: `key-${secretOf(rnd)}` };
    case 'hmac':
      return { type: 'hmac', header: 'X-Signature', secret: `hmac-${secretOf(rnd)}`, algorithm: rnd.pick(['sha256', 'sha512'] as const) };
  }
}
