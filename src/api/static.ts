/**
 * The admin web UI: a handful of static files read once at start and served from memory
 * (they are small, and this avoids any path handling on request). Only the names in
 * `WEB_FILES` are served, so no request path can reach another file.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

export interface WebAsset {
  body: Buffer;
  type: string;
  etag: string;
}

/** `<repo>/web`, found relative to this file so it works from any working directory. */
export function defaultWebDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
}

export async function loadWebAssets(dir: string): Promise<Map<string, WebAsset>> {
  const out = new Map<string, WebAsset>();
  for (const [name, type] of Object.entries(WEB_FILES)) {
    const body = await readFile(path.join(dir, name));
    out.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}

/**
 * Headers for the UI pages: a strict CSP (scripts and styles only from this origin, no
 * inline script, no framing) so an injected job field can never run as script.
 */
export const UI_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};
