/** Public surface of the API layer. */
export { BASE_PATH, buildServer, DEFAULT_BODY_LIMIT, redactUrl, apiLogger, type ApiServer } from './server.js';
export type * from './deps.js';
export { createAuthenticator, AuthError, bearerToken, parseCookies, type Authenticator, type Principal } from './auth.js';
export { loadOrCreateAdminToken, constantTimeEqual, ADMIN_TOKEN_FILE, AdminTokenError, type AdminToken } from './token.js';
export { parseSelector, SelectorError, MAX_SELECTOR_LENGTH } from './selector.js';
export { parseDumpRequest, parseJobId } from './validate.js';
export { ApiError } from './errors.js';
export { parseRange, DownloadTickets, TICKET_TTL_MS } from './download.js';
export { registerTsdbAdminRoutes, parsePromTime, parseDeleteSeries, PROM_MIN_TIME_MS, PROM_MAX_TIME_MS, type TsdbAdmin } from './admin-tsdb.js';
