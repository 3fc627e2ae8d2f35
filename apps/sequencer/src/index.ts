/**
 * @genome/sequencer-server: the Genome platform server (`genome-platform`). A server shell (gRPC + REST ports, TLS,
 * bearer tokens with scopes, deadlines, health, graceful drain) hosting services; the first is the model store's
 * API (genome.store.v1.ModelStore and /v1.0/genome/modelstore/...) over @genome/model-store.
 */
export { startPlatform, type Platform, type PlatformOptions } from './server.js';
export { loadConfig, defaultConfig, validateConfig, usage, type PlatformConfig, type StoreConnection } from './config.js';
export { PlatformError, type PlatformErrorCode } from './errors.js';
export type { HostedService, HostedGrpcService, RestRoute, RestCall, RestAnswer } from './hosted.js';
export { STORE_PREFIX, STORE_SERVICE } from './store/service.js';
export type { TokenGrant, TlsFiles } from '@genome/server-kit';
