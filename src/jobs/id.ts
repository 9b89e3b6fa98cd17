/**
 * Mattermost-style ids: 26 characters of [a-z0-9].
 *
 * Mattermost's `model.NewId()` base32-encodes 16 random bytes with the alphabet
 * `ybndrfg8ejkmcpqxot1uwisza345h769` and no padding (16 bytes → 26 symbols). We do
 * the same so ids look and validate like the plugin's (`DELETE /jobs/delete/{id}`
 * rejects anything else), and so a job id can safely be used as a path segment.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** Exactly 26 lower-case letters/digits; nothing else (no dots, slashes, upper case). */
export const ID_PATTERN = /^[a-z0-9]{26}$/;

/** A fresh random id (128 bits of entropy). */
export function newId(): string {
  const b = randomBytes(16);
  let out = '';
  let buf = 0;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    buf = (buf << 8) | (b[i] as number);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buf >>> bits) & 31];
    }
    buf &= (1 << bits) - 1; // keep only the unread bits so `buf` never exceeds 2^13
  }
  if (bits > 0) out += ALPHABET[(buf << (5 - bits)) & 31];
  return out;
}

/** True for a well-formed id (any [a-z0-9]{26}, as Mattermost's IsValidId accepts ids of other alphabets too). */
export function isValidId(s: unknown): s is string {
  return typeof s === 'string' && ID_PATTERN.test(s);
}
