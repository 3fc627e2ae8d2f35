export { startSidecar, type Sidecar, type SidecarOptions } from './sidecar.js';
export { loadConfig, defaultConfig, validateConfig, usage, DEFAULT_MODEL_DIR, DEFAULT_STORE_POLL_MS, type SidecarConfig, type StoreSettings } from './config.js';
export { SidecarError, type SidecarErrorCode } from './errors.js';
export { toStatus, httpStatusOf, type MappedStatus } from '@genome/server-kit';
export { MethodRegistry } from './methods/registry.js';
export type { ExplainData, ExplainMethod, ImageData, MethodContext, TabularData, TextData } from './methods/types.js';
export type { LoadedModel, ModelDescription, ModelSpec, InputKind, StoreInfo } from './models/types.js';
export type { TokenGrant } from '@genome/server-kit';
export type { TlsFiles } from '@genome/server-kit';
