/**
 * @genome/server-kit: what every Genome server shares (the explainer sidecar, the platform server): bearer-token
 * auth with per-model and per-scope grants, TLS/mTLS credentials for gRPC and HTTPS, the one mapping from error
 * codes to gRPC and HTTP statuses, safe quoting of caller input in error messages, the gRPC server shell (guarded
 * health and reflection, tolerant decoding), defensive JSON bodies and the HTTP listener, the graceful drain, and
 * option parsing.
 */
export { TokenAuth, readTokenGrants, type Principal, type TokenGrant } from './auth.js';
export { drainServers, type DrainOptions } from './drain.js';
export { ServerKitError, type ServerKitErrorCode } from './errors.js';
export {
  MAX_HEALTH_SERVICE_CHARS,
  bindGrpc,
  createGrpcServer,
  guardedServer,
  isUndecodable,
  settle,
  startGrpcServer,
  tolerantDeserializers,
  undecodedMessage,
  type GrpcServerHandle,
  type GrpcServerOptions,
  type GrpcService,
  type KitLogger,
  type TolerantOptions,
} from './grpc.js';
export {
  DEFAULT_TOO_LARGE_HINT,
  HttpError,
  checkContentType,
  checkJsonDepth,
  clientErrorAnswerer,
  decodePathSegment,
  guardedHandler,
  listenHttp,
  parseJsonBody,
  readBody,
  splitTarget,
  type HttpListenOptions,
  type JsonBodyOptions,
} from './http.js';
export { boolOption, intOption, scanFlags, tlsOf, type CliOption, type FlagHandlers } from './options.js';
export { serveUntilSignalled, startOrExit } from './process.js';
export { MAX_MESSAGE_CHARS, QUOTE_CHARS, capMessage, clip, quote } from './quote.js';
export { grpcStatusName, httpStatusOf, toStatus, type MappedStatus } from './status.js';
export { grpcServerCredentials, httpsServerOptions, type TlsFiles } from './tls.js';
