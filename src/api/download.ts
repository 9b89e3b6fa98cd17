/**
 * Archive downloads: byte ranges and short-lived download tickets.
 *
 * Range (RFC 9110 §14): one `bytes=` range is honoured (`a-b`, `a-`, `-n`) → 206 with
 * Content-Range; a range that starts past the end → 416 whose Content-Range is
 * `bytes *` then `/size`; a malformed header or several ranges → the whole file (200), which the RFC
 * allows. `If-Range` with a stale ETag also gets the whole file.
 *
 * Tickets: a browser cannot attach `Authorization` to a plain link, and the UI should
 * stream large archives straight to disk rather than through JS memory. So an
 * authenticated client asks for a ticket (HMAC over job id + expiry, 60 s, key random
 * per process) and then follows `…/jobs/download/<id>?ticket=…`. A ticket opens only
 * that one download and says nothing about the admin token.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './token.js';

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** Interprets a Range header against an object of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'full' }; // malformed, other unit, or a multi-range list
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return { kind: 'full' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return { kind: 'full' }; // invalid: ignore the header
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export const TICKET_TTL_MS = 60_000;

export class DownloadTickets {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.key = randomBytes(32);
    this.now = now;
  }

  /** `<expiry ms>.<mac>` valid for TICKET_TTL_MS for job `id` only. */
  issue(id: string): { ticket: string; expires_at: number } {
    const exp = this.now() + TICKET_TTL_MS;
    return { ticket: `${exp}.${this.mac(id, exp)}`, expires_at: exp };
  }

  verify(id: string, ticket: unknown): boolean {
    if (typeof ticket !== 'string' || ticket.length > 200) return false;
    const dot = ticket.indexOf('.');
    if (dot <= 0) return false;
    const expText = ticket.slice(0, dot);
    if (!/^\d{1,16}$/.test(expText)) return false;
    const exp = Number(expText);
    if (exp < this.now()) return false;
    return constantTimeEqual(ticket.slice(dot + 1), this.mac(id, exp));
  }

  private mac(id: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${id}.${exp}`).digest('base64url');
  }
}
