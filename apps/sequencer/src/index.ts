/**
 * @genome/sequencer-server: the Genome platform server (`genome-platform`). A server shell (gRPC + REST ports, TLS,
 * bearer tokens with scopes, deadlines, health, graceful drain) hosting the model store's API
 * (genome.store.v1.ModelStore and /v1.0/genome/modelstore/...) over @genome/model-store and the sequencer's
 * (genome.sequencer.v1.Sequencer and the seed's /v1.0/genome/compute/sequence/...) over @genome/sequencer.
 */
export { startPlatform, type Platform, type PlatformOptions } from './server.js';
export { loadConfig, defaultConfig, validateConfig, usage, type PlatformConfig, type StoreConnection, type SequencerSettings } from './config.js';
export { PlatformError, type PlatformErrorCode } from './errors.js';
export type { HostedService, HostedGrpcService, RestRoute, RestCall, RestAnswer } from './hosted.js';
export { STORE_PREFIX, STORE_SERVICE } from './store/service.js';
export { SEQUENCE_PREFIX, SEQUENCER_SERVICE } from './pipelines/service.js';
export type { SequencerRuntime } from './pipelines/runtime.js';
export { stateUrl, storeEnv } from './pipelines/runtime.js';
export type { TokenGrant, TlsFiles } from '@genome/server-kit';
