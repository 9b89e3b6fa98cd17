/**
 * Mapping of AWS SDK / network failures to FileStoreErrors.
 *
 * Why we never attach the SDK error as `cause`: SDK errors carry `$response` (raw headers,
 * possibly the Authorization header of the failed request), `$metadata`, and for
 * SignatureDoesNotMatch the server echoes `AWSAccessKeyId`, `StringToSign` and
 * `CanonicalRequest` as fields. Any logger serialising `err.cause` would leak them. We copy
 * only the S3 error code, the HTTP status and the request id, and scrub the message text
 * against the configured credentials as a second line of defence.
 */
import { FileStoreError, FileStoreErrorCode, InvalidRangeError, NotFoundError } from './errors.js';

/** A FileStoreError raised by the S3 backend, with the sanitized service facts. */
export class S3FileStoreError extends FileStoreError {
  /** S3 error code ("NoSuchBucket", "InvalidAccessKeyId", ...) or a network errno ("ECONNREFUSED"), '' if none. */
  readonly s3Code: string;
  /** HTTP status, 0 when no response was received. */
  readonly httpStatus: number;
  /** x-amz-request-id, '' if none. Safe to log; useful in a support case with the provider. */
  readonly requestId: string;
  constructor(code: FileStoreErrorCode, op: string, key: string, message: string, s3Code: string, httpStatus: number, requestId: string) {
    super(code, op, key, message);
    this.s3Code = s3Code;
    this.httpStatus = httpStatus;
    this.requestId = requestId;
  }
}

/** What the mapper needs to know about the store, all of it safe to print. */
export interface S3ErrorContext {
  /** "http://127.0.0.1:9000" or "AWS S3"; never contains credentials. */
  endpoint: string;
  bucket: string;
  /** Strings that must never appear in a message (access key id, secret, session token). */
  secrets: readonly string[];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'EPROTO', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

const AUTH_CODES = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'Forbidden',
  'InvalidClientTokenId', 'AllAccessDisabled', 'AccountProblem',
]);

interface SdkLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Network errno of an error, looking into AggregateError (Node's happy-eyeballs connect) and `cause`. */
function networkCode(e: SdkLike, depth = 0): string {
  if (depth > 3 || e === null || typeof e !== 'object') return '';
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e.errors)) {
    for (const sub of e.errors) {
      const c = networkCode(sub as SdkLike, depth + 1);
      if (c !== '') return c;
    }
  }
  const cause = (e as { cause?: unknown }).cause;
  if (cause !== undefined) return networkCode(cause as SdkLike, depth + 1);
  return '';
}

/** Replaces every configured secret in `s` (secrets shorter than 4 chars would mangle messages and protect nothing). */
export function scrub(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const sec of secrets) if (sec.length >= 4) out = out.split(sec).join('[REDACTED]');
  return out;
}

/** Converts anything thrown by the SDK into a typed, sanitized FileStoreError. */
export function mapS3Error(op: string, key: string, e: unknown, ctx: S3ErrorContext): FileStoreError {
  if (e instanceof FileStoreError) return e;
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as SdkLike;
  const name = typeof err.name === 'string' ? err.name : '';
  const s3Code = typeof err.Code === 'string' ? err.Code : name;
  const status = err.$metadata?.httpStatusCode ?? 0;
  const requestId = err.$metadata?.requestId ?? '';
  const rawMsg = typeof err.message === 'string' ? err.message : '';
  const what = `${op} ${JSON.stringify(key)}`;
  const mk = (code: FileStoreErrorCode, msg: string, c = s3Code) =>
    new S3FileStoreError(code, op, key, scrub(msg, ctx.secrets), c, status, requestId);

  const net = networkCode(err);
  if (net !== '' || name === 'TimeoutError' || name === 'RequestTimeout') {
    const c = net !== '' ? net : name;
    return mk(FileStoreErrorCode.Unreachable, `${what}: cannot reach S3 endpoint ${ctx.endpoint} (${c}); check the endpoint, port and SSL setting`, c);
  }
  if (name === 'CredentialsProviderError') {
    return mk(FileStoreErrorCode.AccessDenied, `${what}: no S3 credentials: the access key settings are empty and the AWS default credential chain found none`);
  }
  if (s3Code === 'NoSuchBucket' || (op === 'check' && (status === 404 || s3Code === 'NotFound'))) {
    return mk(FileStoreErrorCode.BucketNotFound, `${what}: bucket ${JSON.stringify(ctx.bucket)} does not exist at ${ctx.endpoint}`, 'NoSuchBucket');
  }
  if (s3Code === 'NoSuchKey' || s3Code === 'NotFound' || status === 404) {
    return new NotFoundError(op, key);
  }
  if (s3Code === 'PermanentRedirect' || s3Code === 'AuthorizationHeaderMalformed' || status === 301) {
    return mk(FileStoreErrorCode.Config, `${what}: bucket ${JSON.stringify(ctx.bucket)} is in another region or needs another endpoint (${s3Code || status}); set the region`);
  }
  if (AUTH_CODES.has(s3Code) || status === 403 || status === 401) {
    // HEAD requests get a bare 403 without an error code, so the cause can only be narrowed sometimes.
    const hint =
      s3Code === 'InvalidAccessKeyId' || s3Code === 'SignatureDoesNotMatch' || s3Code === 'InvalidClientTokenId'
        ? 'the access key id or secret access key is wrong'
        : s3Code === 'AccessDenied'
          ? 'the credentials lack permission for this bucket'
          : 'the access key id or secret access key is wrong, or lacks permission for this bucket';
    return mk(FileStoreErrorCode.AccessDenied, `${what}: access denied by ${ctx.endpoint} for bucket ${JSON.stringify(ctx.bucket)} (${s3Code || status}): ${hint}`);
  }
  if (s3Code === 'InvalidRange' || status === 416) return new InvalidRangeError(op, key, 'requested range not satisfiable');
  const detail = rawMsg !== '' && rawMsg !== 'UnknownError' ? rawMsg : 'request failed';
  return mk(FileStoreErrorCode.Io, `${what}: S3 ${s3Code || 'error'}${status ? ` (HTTP ${status})` : ''} at ${ctx.endpoint}: ${detail}`);
}
