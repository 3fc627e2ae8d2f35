/**
 * The model store's data model: versions of Genome packages under canonical names, their metadata (the seed's
 * fields), tags, metrics, aliases and lineage, and the queries that search them.
 */

/** The seed's metadata of a saved model (`modelStore.saveModel(genome_model, {...})`). */
export interface ModelMetadata {
  /** The model's name; every save under it gets the next integer version. `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`. */
  canonicalName: string;
  application?: string;
  pipelineName?: string;
  /** The pipeline run that produced this version (lineage). */
  pipelineRunId?: string;
  /** The pipeline step (stage) that produced this version (lineage). */
  pipelineStage?: string;
  /** Defaults to the package manifest's `framework`. */
  framework?: string;
  /** Defaults to the package manifest's `input.modality`. */
  inputModality?: string;
  /** A free label of the version ("2024-06 retrain", "v2.3"); not unique, not the version number. */
  versionName?: string;
  description?: string;
}

/** The metadata fields a query can name directly (besides `name`, `version`, `tags.*`, `metrics.*`, ...). */
export const METADATA_FIELDS = ['application', 'pipelineName', 'pipelineRunId', 'pipelineStage', 'framework', 'inputModality', 'versionName', 'description'] as const;
export type MetadataField = (typeof METADATA_FIELDS)[number];

/** What a save takes besides the package. */
export interface SaveOptions extends ModelMetadata {
  /** Free string tags (keys `[A-Za-z0-9_.-]{1,128}`, values up to 4096 characters). */
  tags?: Record<string, string>;
  /** Numeric metrics (finite numbers), searchable by range. */
  metrics?: Record<string, number>;
  /** Aliases to point at the new version in the same atomic step as the save. */
  aliases?: string[];
  /** Who saves (for the record; the server sets it from the caller's token subject). */
  createdBy?: string;
  signal?: AbortSignal;
  /** Called as the save hashes and uploads the package's files (phases `hash` and `upload`): see {@link TransferProgress}. */
  onProgress?: ProgressListener;
}

/**
 * One step of a save, a download or an `openPackage`, for progress bars. Each file of the package goes through the
 * phases of the operation; within a phase, a file's `bytes` only grow, and its last report has `bytes ===
 * totalBytes` (an empty file reports once, with 0). Files are worked on a few at a time, so reports of different
 * files interleave; `packageBytes` sums the latest `bytes` of every file in the phase.
 */
export interface TransferProgress {
  /**
   * - `hash` (save): reading a file to learn its SHA-256;
   * - `upload` (save): the file's bytes read into the blob store as it stores them; a file the store already holds is
   *   not read again and reports its whole size at once;
   * - `download` (`download`, `openPackage`): bytes written to the local copy, each verified as it is written;
   * - `verify` (`openPackage`): re-hashing the cached copy of the version (every open re-verifies it).
   */
  phase: 'hash' | 'upload' | 'download' | 'verify';
  /** The file: its path in the package (`model.onnx`, `data/background.csv`). */
  path: string;
  /** Bytes of this file done in this phase so far. */
  bytes: number;
  /** The file's size. */
  totalBytes: number;
  /** Bytes of the whole package done in this phase so far (the sum over its files). */
  packageBytes: number;
  /** Size of the whole package: what `packageBytes` reaches when the phase is complete. */
  packageTotalBytes: number;
}

/** Receives {@link TransferProgress} reports. Called synchronously on the store's hot path: keep it cheap. It must not throw (what it throws is ignored). */
export type ProgressListener = (progress: TransferProgress) => void;

/** Options of `download` and `openPackage`. */
export interface TransferOptions {
  /** Called as files are verified (`verify`, `openPackage` only) and written (`download`): see {@link TransferProgress}. */
  onProgress?: ProgressListener;
}

/** One file of a stored package. */
export interface StoredFile {
  /** Path inside the package, `/`-separated, relative (e.g. `genome.json`, `model/model.onnx`). */
  path: string;
  /** Lower-case hex SHA-256 of the content: the blob's address. */
  sha256: string;
  size: number;
}

export type VersionState = 'ready' | 'deleted';

/** One stored version. */
export interface ModelVersion {
  name: string;
  version: number;
  metadata: Omit<ModelMetadata, 'canonicalName'>;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  /** The aliases pointing at this version now. */
  aliases: string[];
  /** The package's files; `genome.json` is always one of them. */
  files: StoredFile[];
  /** SHA-256 over the sorted `path\0sha256\n` lines: equal packages have equal digests. */
  digest: string;
  /** Total bytes of the files. */
  size: number;
  state: VersionState;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  createdBy?: string;
}

/** `name/3` (a version), `name@production` (an alias), or `name` (the latest ready version). */
export type VersionRef = string | { name: string; version: number } | { name: string; alias: string } | { name: string };

/** A registered model: a name and what is known about its versions. */
export interface RegisteredModel {
  name: string;
  /** Highest version number ever given (numbers are never reused). */
  latestVersion: number;
  /** Ready versions, and deleted ones not yet purged. */
  versions: number;
  deletedVersions: number;
  aliases: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

/** Lineage of one pipeline run: what it produced and what it consumed. */
export interface RunLineage {
  runId: string;
  produced: { name: string; version: number; stage?: string }[];
  consumed: { name: string; version: number; stage?: string }[];
}

/** Lineage of one version: the run and step that produced it, and the runs that consumed it. */
export interface VersionLineage {
  producedBy?: { runId: string; pipelineName?: string; stage?: string };
  /** The runs (steps) that consumed the version, sorted by run id, then stage. */
  consumedBy: { runId: string; stage?: string }[];
}

/** Comparison operators of a search condition. */
export type SearchOp = '=' | '!=' | 'prefix' | '>' | '>=' | '<' | '<=' | 'in';

/**
 * One condition. Fields: `name`, `version`, `state`, `alias` (a version holding that alias), `createdAt`,
 * `updatedAt`, `createdBy`, `digest`, the metadata fields ({@link METADATA_FIELDS}), `tags.<key>`, `metrics.<key>`.
 * `prefix` applies to strings; `>`..`<=` to numbers (`version`, `metrics.*`) and ISO times; `in` takes an array.
 */
export interface SearchCondition {
  field: string;
  op: SearchOp;
  value: string | number | (string | number)[];
}

export interface SearchQuery {
  /** Conditions, all of which must hold (AND). */
  where?: SearchCondition[];
  /**
   * The same conditions as text, MLflow-style: `application = 'fraud' AND metrics.auc >= 0.9 AND tags.team LIKE
   * 'risk%'` (`LIKE 'x%'` = prefix). Combined with `where` by AND.
   */
  filter?: string;
  /** Sort keys (any condition field); ties are broken by name ascending, then version descending. Default: createdAt desc. */
  orderBy?: { field: string; direction?: 'asc' | 'desc' }[];
  /** Only the highest matching version of each name. */
  latestOnly?: boolean;
  /** Include soft-deleted versions (default: ready ones only). */
  includeDeleted?: boolean;
  /** 1..1000, default 100. */
  pageSize?: number;
  /** The `nextPageToken` of the previous page (same query). */
  pageToken?: string;
}

export interface SearchPage {
  versions: ModelVersion[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

/** What a garbage collection did. */
export interface GcReport {
  /** Blobs referenced by a version (ready or soft-deleted). */
  referencedBlobs: number;
  /** Blobs removed (unreferenced and older than the grace period). */
  removedBlobs: number;
  removedBytes: number;
  /** Unreferenced blobs kept because they are younger than the grace period (a save may be in flight). */
  keptYoungBlobs: number;
  /** Versions purged by this run (soft-deleted longer ago than `purgeDeletedOlderThanMs`, when given). */
  purgedVersions: { name: string; version: number }[];
}

/** A change to the store, in the order every reader sees it. */
export type StoreEvent =
  | { seq: number; type: 'version-created'; name: string; version: number; at: string }
  | { seq: number; type: 'version-deleted' | 'version-restored' | 'version-purged' | 'version-updated'; name: string; version: number; at: string }
  | { seq: number; type: 'alias-set'; name: string; alias: string; version: number; previous?: number; at: string }
  | { seq: number; type: 'alias-deleted'; name: string; alias: string; previous: number; at: string }
  | { seq: number; type: 'lineage-recorded'; runId: string; at: string };

/** Options of `getVersion`. */
export interface GetVersionOptions {
  /** Let `name/3` name a soft-deleted version (default false). */
  includeDeleted?: boolean;
}

/** What `updateVersion` changes; absent fields are left as they are. */
export interface VersionChanges {
  /** Tags to add or replace. */
  setTags?: Record<string, string>;
  /** Tags to remove (absent ones are ignored). */
  deleteTags?: string[];
  setMetrics?: Record<string, number>;
  deleteMetrics?: string[];
  /** New description; `null` or `''` clears it. */
  description?: string | null;
  /** New version name; `null` or `''` clears it. */
  versionName?: string | null;
}

/** Options of `listModels`. */
export interface ListModelsOptions {
  namePrefix?: string;
  /** 1..1000, default 100. */
  pageSize?: number;
  pageToken?: string;
}

/** One page of registered models, by name ascending. */
export interface ModelPage {
  models: RegisteredModel[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

/** Options of `listVersions`. */
export interface ListVersionsOptions {
  includeDeleted?: boolean;
  /** 1..1000, default 100. */
  pageSize?: number;
  pageToken?: string;
}

/** One page of versions of a model, newest (highest number) first. */
export interface VersionPage {
  versions: ModelVersion[];
  nextPageToken?: string;
}

/** What `recordLineage` records: the versions a pipeline run (step) consumed. */
export interface LineageInput {
  runId: string;
  stage?: string;
  /** `name/3`, `name@alias` (resolved now) or `name` (the latest ready version now). */
  consumed: VersionRef[];
}

/** Options of `gc`. */
export interface GcOptions {
  /** Unreferenced blobs younger than this are kept (a save may be uploading them). Default 3600000 (one hour). */
  graceMs?: number;
  /** Also purge versions soft-deleted longer ago than this (default: purge none). */
  purgeDeletedOlderThanMs?: number;
  /** Report what would be done without doing it. */
  dryRun?: boolean;
}

/** Events after a sequence number, and the last sequence number they cover (pass it as the next `sinceSeq`). */
export interface EventPage {
  events: StoreEvent[];
  lastSeq: number;
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Deliver events after this sequence number (default: only events from now on; 0: the whole history). */
  sinceSeq?: number;
  /** How often the log is polled, in ms (default 1000). */
  intervalMs?: number;
  /** Called when a poll or the listener fails (the watch goes on). */
  onError?: (err: unknown) => void;
}
