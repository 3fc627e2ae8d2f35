/**
 * @genome/model-store: versions of Genome packages under canonical names, with aliases, search, lineage, soft delete
 * and garbage collection; metadata in keyv (SQLite by default, PostgreSQL, Redis), content-addressed blobs verified on
 * every read (a directory by default, S3).
 */
export { openModelStore, defaultStoreDir, ModelStore, type CreateVersionOptions, type OpenModelStoreOptions, type OpenedVersion, type StoreWatch } from './store.js';
export { ModelStoreError, type ModelStoreErrorCode } from './errors.js';
export { parseRef, formatRef, type ParsedRef } from './refs.js';
export { parseFilter, formatFilter } from './search/filter.js';
export { FIELD_NAMES_HELP } from './search/fields.js';
export { DEFAULT_GC_GRACE_MS } from './gc.js';
export { openKv, KV_URL_FORMS } from './kv/open.js';
export { DEFAULT_NAMESPACE, type KvBackend, type KvKind, type OpenKvOptions } from './kv/kv-backend.js';
export { openBlobStore, BLOB_STORE_SPEC_FORMS } from './blobs/open.js';
export type { BlobInfo, BlobSource, BlobStore, PutBlobResult } from './blobs/blob-store.js';
export { METADATA_FIELDS } from './types.js';
export type * from './types.js';
