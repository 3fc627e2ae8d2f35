/**
 * The blob stores, as the rest of the library uses them: `openBlobStore(spec)` for a location string, the `BlobStore`
 * contract, and the two implementations (filesystem, the default; S3 on the optional `@aws-sdk/client-s3`).
 */
export { DEFAULT_PARTIAL_OLDER_THAN_MS } from './blob-store.js';
export type { BlobInfo, BlobSource, BlobStore, PutBlobResult } from './blob-store.js';
export { BLOB_STORE_SPEC_FORMS, openBlobStore, parseS3Spec } from './open.js';
export { FsBlobStore, openFsBlobStore } from './fs.js';
export type { FsBlobStoreOptions } from './fs.js';
export { S3BlobStore, openS3BlobStore } from './s3.js';
export type { S3BlobStoreOptions } from './s3.js';
