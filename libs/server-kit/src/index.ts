/**
 * @genome/server-kit: what every Genome server shares (the explainer sidecar, the platform server): bearer-token
 * auth with per-model and per-scope grants, TLS/mTLS credentials for gRPC and HTTPS, the one mapping from error
 * codes to gRPC and HTTP statuses, and safe quoting of caller input in error messages.
 */
export { TokenAuth, readTokenGrants, type Principal, type TokenGrant } from './auth.js';
export { ServerKitError, type ServerKitErrorCode } from './errors.js';
export { MAX_MESSAGE_CHARS, QUOTE_CHARS, capMessage, clip, quote } from './quote.js';
export { grpcStatusName, httpStatusOf, toStatus, type MappedStatus } from './status.js';
export { grpcServerCredentials, httpsServerOptions, type TlsFiles } from './tls.js';
