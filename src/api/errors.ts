/**
 * The one error type routes throw: a status and a message for the client. The server's
 * error handler turns it into `{"error": message}`; anything else becomes a logged 500
 * with a generic body, so internals never leak to clients.
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, message: string, code = 'MM_ERR_API') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export const badRequest = (msg: string): ApiError => new ApiError(400, msg, 'MM_ERR_BAD_REQUEST');
export const notFound = (msg: string): ApiError => new ApiError(404, msg, 'MM_ERR_NOT_FOUND');
