import { createHmac } from 'node:crypto';
import type { DnifAuth } from '../connector';

/** The header(s) that authenticate one request body, per `dnif.auth` (SPEC.md). */
export function authHeaders(auth: DnifAuth, body: Buffer): Record<string, string> {
  switch (auth.type) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` };
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value };
    case 'hmac':
      // Over the exact bytes sent, i.e. after gzip when gzip is on.
      return { [auth.header.toLowerCase()]: createHmac(auth.algorithm, auth.secret).update(body).digest('hex') };
  }
}
