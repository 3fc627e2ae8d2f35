/**
 * {@link ModelStore}: versions of Genome packages under canonical names, with aliases, search, lineage and soft delete,
 * over a metadata backend (keyv: SQLite, PostgreSQL, Redis) and a content-addressed blob store (filesystem, S3).
 *
 * Every change is one entry appended to the log with the backend's put-if-absent (see log/event-log.ts), so concurrent
 * writers in several processes never lose a write nor hand out a version twice. A save uploads its blobs first and
 * commits its version last, in one entry: a writer killed in between leaves only unreferenced blobs, which readers
 * never see and {@link ModelStore.gc} collects. Reads catch up with the log first (one round trip), so they see every
 * write that completed before them, from any process.
 */
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelFormatError, loadGenomePackage, validateGenomeManifest, type GenomeManifest, type GenomePackage } from '@genome/model-format';
import type { BlobSource, BlobStore, PutBlobResult } from './blobs/blob-store.js';
import { openBlobStore } from './blobs/open.js';
import { packageDigest, packageSize, sortFiles } from './digest.js';
import { ModelStoreError } from './errors.js';
import { checkDownloaded, describeFile, downloadVersion, readVerified } from './files/download.js';
import { hashFile, mapLimit } from './files/hash-file.js';
import { makeDirs } from './files/make-dirs.js';
import { ProgressReporter, checkProgressListener, type FileCounter } from './files/progress.js';
import { collectGarbage } from './gc.js';
import type { KvBackend } from './kv/kv-backend.js';
import { isKvBackend, openKv } from './kv/open.js';
import { EventLog } from './log/event-log.js';
import type { EntryBody } from './log/entries.js';
import { checkManifestFiles, listPackageFiles } from './package/package-files.js';
import { formatRef, parseRef, type ParsedRef } from './refs.js';
import { runSearch } from './search/search.js';
import { toModelVersion, toRegisteredModel, versionKey, type VersionRecord } from './state/records.js';
import { requireModel, resolveRef } from './state/resolve.js';
import type { StoreState } from './state/state.js';
import { pauseAfterUploadIfAsked } from './test-hooks.js';
import type {
  EventPage,
  GcOptions,
  GcReport,
  GetVersionOptions,
  LineageInput,
  ListModelsOptions,
  ListVersionsOptions,
  ModelPage,
  ModelVersion,
  RegisteredModel,
  RunLineage,
  SaveOptions,
  SearchPage,
  SearchQuery,
  StoreEvent,
  StoredFile,
  TransferOptions,
  VersionChanges,
  VersionLineage,
  VersionPage,
  VersionRef,
  WatchOptions,
} from './types.js';
import {
  MAX_FILES,
  checkAlias,
  checkAliasList,
  checkKeyList,
  checkMetadata,
  checkMetrics,
  checkName,
  checkPackagePath,
  checkPageSize,
  checkRunId,
  checkSha256,
  checkSize,
  checkTags,
  checkText,
  checkVersionNumber,
  MAX_DESCRIPTION_CHARS,
  show,
} from './validate.js';

/** Where a store keeps its data when nothing else is said: `$GENOME_STORE_DIR`, else `./.genome-store`. */
export function defaultStoreDir(): string {
  return resolve(process.env.GENOME_STORE_DIR || '.genome-store');
}

/** Options of {@link openModelStore}. */
export interface OpenModelStoreOptions {
  /**
   * The metadata backend: a URL (`sqlite:///path.sqlite`, `postgres://user@host:5432/db`, `redis://host:6379`,
   * `memory:`) or an open {@link KvBackend}. Default: `$GENOME_STORE_METADATA` (same URL forms) when set and not
   * empty, else `sqlite://<dir>/metadata.sqlite`.
   */
  metadata?: string | KvBackend;
  /**
   * The blob store: a directory, `file://...`, `s3://bucket/prefix?endpoint=...`, or an open {@link BlobStore}.
   * Default: `$GENOME_STORE_BLOBS` (same forms) when set and not empty, else `<dir>/blobs`.
   */
  blobs?: string | BlobStore;
  /**
   * Root of the defaults above and of the package cache: default `$GENOME_STORE_DIR`, else `./.genome-store`.
   *
   * So every app (CLI, sidecar, server) opens the same store from the environment alone, an absent option is read from
   * the environment before falling back to `<dir>`: `metadata` from `GENOME_STORE_METADATA`, `blobs` from
   * `GENOME_STORE_BLOBS`, `dir` from `GENOME_STORE_DIR`. An option given explicitly always wins over the environment.
   */
  dir?: string;
  /** Where {@link ModelStore.openPackage} unpacks versions (one directory per package digest). Default `<dir>/cache`. */
  cacheDir?: string;
  /** Key namespace in the metadata backend (default `genome-store`); two stores may share one backend under two namespaces. */
  namespace?: string;
  /** Snapshot the replayed state every this many log entries (default 1000). */
  snapshotEvery?: number;
  /** Non-fatal problems (a snapshot that could not be written, an entry of a newer format skipped). Default: ignored. */
  onWarning?: (message: string) => void;
}

/** What {@link ModelStore.openPackage} gives: the version and its package, opened from a verified local copy. */
export interface OpenedVersion {
  version: ModelVersion;
  /** The directory holding the package's files (shared by every version with the same digest; do not modify). */
  dir: string;
  package: GenomePackage;
}

/** A running {@link ModelStore.watch}. */
export interface StoreWatch {
  /** Stops the watch; resolves when no callback runs any more. */
  close(): Promise<void>;
}

/** Opens a model store (creating it when the backends are empty). Close it when done. */
export async function openModelStore(options: OpenModelStoreOptions = {}): Promise<ModelStore> {
  const dir = resolve(options.dir ?? defaultStoreDir());
  const metadata = options.metadata ?? (process.env.GENOME_STORE_METADATA || undefined);
  const blobSpec = options.blobs ?? (process.env.GENOME_STORE_BLOBS || undefined);
  const ownKv = !isKvBackend(metadata);
  const ownBlobs = typeof blobSpec !== 'object';
  if (ownKv && metadata === undefined) {
    try {
      await makeDirs(dir);
    } catch (err) {
      throw new ModelStoreError('UNAVAILABLE', `Could not create the store directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  const kv = isKvBackend(metadata)
    ? metadata
    : await openKv(metadata ?? `sqlite://${join(dir, 'metadata.sqlite')}`, options.namespace !== undefined ? { namespace: options.namespace } : {});
  let blobs: BlobStore;
  try {
    blobs = await openBlobStore(blobSpec ?? join(dir, 'blobs'));
  } catch (err) {
    if (ownKv) await kv.close().catch(() => undefined);
    throw err;
  }
  try {
    const log = await EventLog.open(kv, {
      ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    return new ModelStore(log, blobs, resolve(options.cacheDir ?? join(dir, 'cache')), ownKv, ownBlobs);
  } catch (err) {
    if (ownKv) await kv.close().catch(() => undefined);
    if (ownBlobs) await blobs.close().catch(() => undefined);
    throw err;
  }
}

/** A page token of the list calls: the last key of the page, base64url. */
function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: unknown, what: string): string {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{1,700}$/.test(token)) {
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid ${what} page token ${show(token)}: pass the nextPageToken of the previous page unchanged.`);
  }
  return Buffer.from(token, 'base64url').toString('utf8');
}

/**
 * A failure to read the package a caller gave to a save, as a ModelStoreError: the loader's complaints (no such path,
 * not a package, invalid genome.json, a named file missing) and file system errors are INVALID_ARGUMENT naming the
 * package; an aborted signal is CANCELLED.
 */
function packageError(err: unknown, where: string, signal: AbortSignal | undefined): ModelStoreError {
  if (signal?.aborted) return new ModelStoreError('CANCELLED', 'The save was cancelled before its version was committed; nothing was saved.', { cause: err });
  if (err instanceof ModelStoreError) return err;
  if (err instanceof ModelFormatError) {
    return new ModelStoreError(
      'INVALID_ARGUMENT',
      `Cannot save the Genome package ${where}: ${err.message}. Give a directory or .tar.gz/.tar/.zip archive holding a valid genome.json and every file it names.`,
      { cause: err },
    );
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new ModelStoreError('INVALID_ARGUMENT', `Cannot read the Genome package ${where}: ${(err as Error).message}.`, { cause: err });
  }
  return new ModelStoreError('INTERNAL', `Saving the Genome package ${where} failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ModelStoreError('CANCELLED', 'The save was cancelled before its version was committed; nothing was saved.');
}

/** The files of a commit: validated, sorted by path, no duplicates, `genome.json` among them. */
function checkCommitFiles(files: unknown): StoredFile[] {
  if (!Array.isArray(files) || files.length === 0) {
    throw new ModelStoreError('INVALID_ARGUMENT', 'files must be a non-empty array of { path, sha256, size }, with genome.json among them.');
  }
  if (files.length > MAX_FILES) throw new ModelStoreError('INVALID_ARGUMENT', `A package may hold at most ${MAX_FILES} files, got ${files.length}.`);
  const out: StoredFile[] = [];
  const seen = new Set<string>();
  for (const [i, f] of files.entries()) {
    if (typeof f !== 'object' || f === null) throw new ModelStoreError('INVALID_ARGUMENT', `files[${i}] must be an object { path, sha256, size }.`);
    const { path, sha256, size } = f as Record<string, unknown>;
    checkPackagePath(path, `files[${i}].path`);
    checkSha256(sha256, `files[${i}].sha256`);
    checkSize(size, `files[${i}].size`);
    if (seen.has(path)) throw new ModelStoreError('INVALID_ARGUMENT', `files lists "${path}" twice.`);
    seen.add(path);
    out.push({ path, sha256, size });
  }
  if (!seen.has('genome.json')) throw new ModelStoreError('INVALID_ARGUMENT', 'files has no genome.json: a Genome package always has its manifest at its root.');
  return sortFiles(out);
}

/** What both save paths commit, validated. */
interface Commit {
  name: string;
  metadata: ReturnType<typeof checkMetadata>;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  aliases: string[];
  createdBy?: string;
}

function checkSaveOptions(options: SaveOptions, manifest: GenomeManifest | undefined): Commit {
  if (typeof options !== 'object' || options === null) {
    throw new ModelStoreError('INVALID_ARGUMENT', 'Save options are required: at least { canonicalName: "my-model" }.');
  }
  checkName(options.canonicalName, 'canonicalName');
  const metadata = checkMetadata(options);
  if (manifest) {
    // Only strings: a package object built by hand may lack the fields, and absent must stay absent (not undefined).
    const framework: unknown = manifest.framework;
    const modality: unknown = manifest.input?.modality;
    if (metadata.framework === undefined && typeof framework === 'string' && framework !== '') metadata.framework = framework;
    if (metadata.inputModality === undefined && typeof modality === 'string' && modality !== '') metadata.inputModality = modality;
  }
  const createdBy = checkText(options.createdBy, 'createdBy');
  return {
    name: options.canonicalName,
    metadata,
    tags: Object.fromEntries(checkTags(options.tags)),
    metrics: Object.fromEntries(checkMetrics(options.metrics)),
    aliases: checkAliasList(options.aliases),
    ...(createdBy !== undefined ? { createdBy } : {}),
  };
}

/** Options of {@link ModelStore.createVersion}: the save's options, for blobs already uploaded. */
export type CreateVersionOptions = Omit<SaveOptions, 'signal' | 'onProgress'>;

/**
 * A file's bytes for an upload, each chunk counted as the blob store reads it. The file is opened on the first read
 * only: a blob the store already holds is not read, and its source (this generator, never started) opens nothing.
 */
async function* countedFile(path: string, counter: FileCounter): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(path)) {
    counter.add((chunk as Buffer).byteLength);
    yield chunk as Buffer;
  }
}

export class ModelStore {
  private closed = false;
  private readonly watches = new Set<{ stop: () => Promise<void> }>();
  /** Cache writes in flight, by package digest (see {@link writeCache}). */
  private readonly cacheWrites = new Map<string, Promise<void>>();

  /** @internal use {@link openModelStore}. */
  constructor(
    private readonly log: EventLog,
    /** The blob store (for servers that stream blobs themselves). */
    readonly blobs: BlobStore,
    /** Where {@link openPackage} unpacks versions. */
    readonly cacheDir: string,
    private readonly ownKv: boolean,
    private readonly ownBlobs: boolean,
  ) {}

  /** Where the metadata lives (no password), e.g. `sqlite:///var/lib/genome/metadata.sqlite`. */
  get metadataLocation(): string {
    return this.log.kv.location;
  }

  /** Where the blobs live, e.g. `file:///var/lib/genome/blobs`. */
  get blobLocation(): string {
    return this.blobs.location;
  }

  /** The last log sequence number this instance has applied. */
  get seq(): number {
    return this.log.seq;
  }

  private open(): void {
    if (this.closed) throw new ModelStoreError('FAILED_PRECONDITION', 'The model store is closed; open a new one with openModelStore().');
  }

  /** Catches up with every write committed so far (by any process) and returns the state. */
  private async fresh(): Promise<StoreState> {
    this.open();
    await this.log.catchUp();
    return this.log.state;
  }

  /** Catches up with the log; afterwards reads reflect every write committed before the call. */
  async refresh(): Promise<void> {
    await this.fresh();
  }

  // ---- saving ---------------------------------------------------------------------------------------------------

  /**
   * Saves a Genome package (a directory, a `.tar.gz`/`.tar`/`.zip` archive, or a package opened with model-format's
   * `loadGenomePackage`) as the next version of `options.canonicalName`. The manifest is validated as the loader does;
   * `framework` and `inputModality` default to the manifest's. Files are uploaded content-addressed (a file the store
   * already holds is not uploaded again), then the version is committed, with `options.aliases` moved to it in the
   * same atomic step.
   */
  async saveModel(source: string | GenomePackage, options: SaveOptions): Promise<ModelVersion> {
    this.open();
    const signal = options?.signal;
    cancelled(signal);
    const hasOptions = typeof options === 'object' && options !== null;
    if (hasOptions) checkName(options.canonicalName, 'canonicalName');
    const onProgress = hasOptions ? checkProgressListener(options.onProgress) : undefined;
    const where = typeof source === 'string' ? source : String((source as Partial<GenomePackage> | null)?.root ?? 'the package');
    let pkg: GenomePackage;
    if (typeof source === 'string') {
      pkg = await loadGenomePackage(source).catch((err: unknown) => {
        throw packageError(err, where, signal);
      });
    } else {
      if (typeof source !== 'object' || source === null || typeof source.root !== 'string' || typeof source.manifest !== 'object' || source.manifest === null) {
        throw new ModelStoreError('INVALID_ARGUMENT', 'saveModel takes a package directory, a .tar.gz/.tar/.zip archive, or a package opened with loadGenomePackage().');
      }
      pkg = source;
    }
    try {
      const commit = checkSaveOptions(options, pkg.manifest);
      const files = await (async () => {
        const found = await listPackageFiles(pkg.root);
        if (found.length > MAX_FILES) throw new ModelStoreError('INVALID_ARGUMENT', `A package may hold at most ${MAX_FILES} files; ${pkg.root} has ${found.length}.`);
        const progress = new ProgressReporter(onProgress, found.reduce((n, f) => n + f.size, 0));
        return mapLimit(found, 4, async (f): Promise<StoredFile> => {
          cancelled(signal);
          const hashing = progress.counter('hash', f.path, f.size);
          const { sha256, size } = await hashFile(f.abs, signal, hashing?.add);
          hashing?.finish();
          const uploading = progress.counter('upload', f.path, size);
          const bytes = uploading ? countedFile(f.abs, uploading) : createReadStream(f.abs);
          const put = await this.blobs.put(bytes, { sha256, size, ...(signal ? { signal } : {}) });
          uploading?.finish(put.size);
          return { path: f.path, sha256: put.sha256, size: put.size };
        });
      })().catch((err: unknown) => {
        throw packageError(err, where, signal);
      });
      await pauseAfterUploadIfAsked();
      cancelled(signal);
      return await this.commitVersion(commit, sortFiles(files));
    } finally {
      if (typeof source === 'string') await pkg.close();
    }
  }

  /** Stores one blob (for clients that upload a package file by file); see {@link BlobStore.put}. */
  async putBlob(source: BlobSource, expected?: { sha256?: string; size?: number; signal?: AbortSignal }): Promise<PutBlobResult> {
    this.open();
    if (expected?.sha256 !== undefined) checkSha256(expected.sha256, 'expected sha256');
    if (expected?.size !== undefined) checkSize(expected.size, 'expected size');
    return this.blobs.put(source, expected);
  }

  /** Which of these blobs the store lacks (upload those, then {@link createVersion}). */
  async missingBlobs(sha256s: readonly string[]): Promise<string[]> {
    this.open();
    if (!Array.isArray(sha256s)) throw new ModelStoreError('INVALID_ARGUMENT', 'missingBlobs takes an array of SHA-256 hex strings.');
    if (sha256s.length > MAX_FILES) throw new ModelStoreError('INVALID_ARGUMENT', `Ask for at most ${MAX_FILES} blobs at a time, got ${sha256s.length}.`);
    sha256s.forEach((s, i) => checkSha256(s, `sha256s[${i}]`));
    return this.blobs.missing(sha256s);
  }

  /**
   * Commits a version from blobs already in the store (uploaded with {@link putBlob}): the remote path of a save.
   * Every blob must be present with its size, and `genome.json` must be a valid manifest naming only files listed;
   * the blobs are touched so that a garbage collection running now keeps them.
   */
  async createVersion(files: readonly StoredFile[], options: CreateVersionOptions): Promise<ModelVersion> {
    this.open();
    checkName(options?.canonicalName, 'canonicalName');
    const sorted = checkCommitFiles(files);
    const missing: string[] = [];
    await mapLimit(sorted, 8, async (f) => {
      const info = await this.blobs.stat(f.sha256);
      if (info && info.size !== f.size) {
        throw new ModelStoreError('INVALID_ARGUMENT', `files: "${f.path}" says ${f.size} bytes but blob ${f.sha256} holds ${info.size}.`);
      }
      // Touch the blob (a held blob's source is not read) so that a garbage collection running now keeps it.
      if (!info || !(await this.blobs.put(emptySource(), { sha256: f.sha256, size: f.size }).then((r) => r.existed, () => false))) missing.push(f.path);
    });
    if (missing.length > 0) {
      throw new ModelStoreError(
        'FAILED_PRECONDITION',
        `${missing.length} file(s) of the package are not in the blob store: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}. Upload them (MissingBlobs, then PutBlob) and commit again.`,
      );
    }
    const manifestFile = sorted.find((f) => f.path === 'genome.json')!;
    const stub = { name: options.canonicalName, version: 0 };
    const text = Buffer.from(await this.blobs.get(manifestFile.sha256, describeFile(stub, 'genome.json'))).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ModelStoreError('INVALID_ARGUMENT', `genome.json is not valid JSON: ${(err as Error).message}`);
    }
    let manifest: GenomeManifest;
    try {
      manifest = validateGenomeManifest(json, 'genome.json');
    } catch (err) {
      throw new ModelStoreError('INVALID_ARGUMENT', (err as Error).message, { cause: err });
    }
    checkManifestFiles(manifest, new Set(sorted.map((f) => f.path)));
    const commit = checkSaveOptions(options, manifest);
    return this.commitVersion(commit, sorted);
  }

  private async commitVersion(c: Commit, files: StoredFile[]): Promise<ModelVersion> {
    const digest = packageDigest(files);
    const size = packageSize(files);
    const result = await this.log.append(
      (state): EntryBody => {
        const model = state.models.get(c.name);
        return {
          t: 'create',
          at: new Date().toISOString(),
          name: c.name,
          version: (model?.maxVersion ?? 0) + 1,
          metadata: c.metadata,
          tags: c.tags,
          metrics: c.metrics,
          files,
          digest,
          size,
          ...(c.createdBy !== undefined ? { createdBy: c.createdBy } : {}),
          aliases: c.aliases.map((alias) => {
            const previous = model?.aliases.get(alias);
            return previous !== undefined ? { alias, previous } : { alias };
          }),
        };
      },
      (state, { entry }) => toModelVersion(state.models.get(c.name)!.versions.get((entry as { version: number }).version)!),
    );
    return result!;
  }

  // ---- reading --------------------------------------------------------------------------------------------------

  /** The version a reference names: `name/3`, `name@production`, or `name` (its latest ready version). */
  async getVersion(ref: VersionRef, options: GetVersionOptions = {}): Promise<ModelVersion> {
    const parsed = parseRef(ref);
    return toModelVersion(resolveRef(await this.fresh(), parsed, options.includeDeleted === true));
  }

  /** A registered model: its aliases, highest version, and counts. */
  async getModel(name: string): Promise<RegisteredModel> {
    checkName(name);
    return toRegisteredModel(requireModel(await this.fresh(), name));
  }

  /** Registered models by name, ascending, a page at a time. */
  async listModels(options: ListModelsOptions = {}): Promise<ModelPage> {
    const pageSize = checkPageSize(options.pageSize);
    const prefix = options.namePrefix ?? '';
    if (typeof prefix !== 'string') throw new ModelStoreError('INVALID_ARGUMENT', `namePrefix must be a string, got ${show(prefix)}.`);
    const after = options.pageToken !== undefined && options.pageToken !== '' ? decodeToken(options.pageToken, 'listModels') : undefined;
    const state = await this.fresh();
    const names = state.names();
    let lo = 0;
    let hi = names.length;
    const start = after !== undefined && after >= prefix ? after : prefix;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! < start || (after !== undefined && names[mid] === after)) lo = mid + 1;
      else hi = mid;
    }
    const models: RegisteredModel[] = [];
    let i = lo;
    for (; i < names.length && models.length < pageSize; i++) {
      if (!names[i]!.startsWith(prefix)) break;
      models.push(toRegisteredModel(state.models.get(names[i]!)!));
    }
    const more = i < names.length && names[i]!.startsWith(prefix);
    return more ? { models, nextPageToken: encodeToken(models[models.length - 1]!.name) } : { models };
  }

  /** The versions of a model, newest first, a page at a time. */
  async listVersions(name: string, options: ListVersionsOptions = {}): Promise<VersionPage> {
    checkName(name);
    const pageSize = checkPageSize(options.pageSize);
    let below = Number.MAX_SAFE_INTEGER;
    if (options.pageToken !== undefined && options.pageToken !== '') {
      below = Number(decodeToken(options.pageToken, 'listVersions'));
      if (!Number.isSafeInteger(below)) throw new ModelStoreError('INVALID_ARGUMENT', 'Invalid listVersions page token: pass the nextPageToken of the previous page unchanged.');
    }
    const model = requireModel(await this.fresh(), name);
    const versions: ModelVersion[] = [];
    let n = Math.min(below - 1, model.maxVersion);
    for (; n >= 1 && versions.length < pageSize; n--) {
      const rec = model.versions.get(n);
      if (rec && (rec.state === 'ready' || options.includeDeleted === true)) versions.push(toModelVersion(rec));
    }
    let more = false;
    for (let m = n; m >= 1 && !more; m--) {
      const rec = model.versions.get(m);
      more = rec !== undefined && (rec.state === 'ready' || options.includeDeleted === true);
    }
    return more ? { versions, nextPageToken: encodeToken(String(versions[versions.length - 1]!.version)) } : { versions };
  }

  /**
   * Searches versions by metadata, tags, metrics, aliases and times (all conditions must hold), ordered, a page at a
   * time; `latestOnly` keeps the highest matching version of each name. See {@link SearchQuery}.
   */
  async search(query: SearchQuery = {}): Promise<SearchPage> {
    return runSearch(await this.fresh(), query);
  }

  /** The bytes of one file of a version, verified against its SHA-256 (CORRUPT naming the file otherwise). */
  async readFile(ref: VersionRef, path: string): Promise<Uint8Array> {
    checkPackagePath(path);
    const version = await this.getVersion(ref);
    const file = version.files.find((f) => f.path === path);
    if (!file) {
      const listed = version.files.slice(0, 20).map((f) => f.path).join(', ');
      throw new ModelStoreError('NOT_FOUND', `${formatRef(parseRef(ref))} has no file "${path}"; its files: ${listed}${version.files.length > 20 ? ', ...' : ''}.`);
    }
    return readVerified(this.blobs, version, file);
  }

  /**
   * Writes every file of a version into `dir` (absent or empty), verified; the directory appears only when complete.
   * `options.onProgress` hears of the bytes written (phase `download`).
   */
  async download(ref: VersionRef, dir: string, options: TransferOptions = {}): Promise<ModelVersion> {
    const onProgress = checkProgressListener(options?.onProgress);
    const version = await this.getVersion(ref);
    await downloadVersion(this.blobs, version, dir, false, new ProgressReporter(onProgress, version.size));
    return version;
  }

  /**
   * Opens a version as a model-format `GenomePackage`, from a verified copy in the cache directory (one per package
   * digest, shared by versions with equal files and by processes; written atomically). Close the package when done.
   * `options.onProgress` hears of the cached copy being re-verified (phase `verify`) and, when it is absent or
   * damaged, written (phase `download`).
   */
  async openPackage(ref: VersionRef, options: TransferOptions = {}): Promise<OpenedVersion> {
    const onProgress = checkProgressListener(options?.onProgress);
    const version = await this.getVersion(ref);
    const dir = join(this.cacheDir, version.digest);
    const progress = new ProgressReporter(onProgress, version.size);
    // Every open re-hashes the cached copy: a copy damaged in place (same size, other bytes) must not be served.
    if ((await checkDownloaded(version, dir, true, progress)) !== undefined) await this.writeCache(version, dir, progress);
    try {
      return { version, dir, package: await loadGenomePackage(dir) };
    } catch (err) {
      if (err instanceof ModelFormatError) {
        throw new ModelStoreError('INVALID_ARGUMENT', `${version.name}/${version.version} cannot be opened as a Genome package: ${err.message}.`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Writes (or rewrites) the cached copy of a version when it is absent or damaged. Writers of one digest take turns
   * in this process, and each checks again first, so that no caller removes a copy another one has just written; a
   * damaged copy is renamed aside before it is removed, so that the directory only ever holds a whole copy.
   */
  private async writeCache(version: ModelVersion, dir: string, progress: ProgressReporter): Promise<void> {
    const previous = this.cacheWrites.get(version.digest) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        if ((await checkDownloaded(version, dir, true)) === undefined) return; // written meanwhile
        if (await exists(dir)) {
          const aside = join(dirname(dir), `.${basename(dir)}.damaged-${randomBytes(6).toString('hex')}`);
          try {
            await rename(dir, aside);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
              throw new ModelStoreError('UNAVAILABLE', `Cannot replace the damaged cached copy ${dir}: ${(err as Error).message}`, { cause: err });
            }
          }
          await rm(aside, { recursive: true, force: true });
        }
        await downloadVersion(this.blobs, version, dir, true, progress);
        const again = await checkDownloaded(version, dir, true);
        if (again !== undefined) {
          throw new ModelStoreError('CORRUPT', `The cached copy of ${version.name}/${version.version} in ${dir} is damaged: ${again}. Remove the directory and open the version again.`);
        }
      });
    this.cacheWrites.set(version.digest, run);
    try {
      await run;
    } finally {
      if (this.cacheWrites.get(version.digest) === run) this.cacheWrites.delete(version.digest);
    }
  }

  // ---- changing ---------------------------------------------------------------------------------------------------

  /** Changes tags, metrics, description or version name of a ready version. */
  async updateVersion(ref: VersionRef, changes: VersionChanges): Promise<ModelVersion> {
    this.open();
    const parsed = parseRef(ref);
    if (typeof changes !== 'object' || changes === null) throw new ModelStoreError('INVALID_ARGUMENT', 'updateVersion takes an object of changes.');
    const setTags = Object.fromEntries(checkTags(changes.setTags, 'setTags'));
    const deleteTags = checkKeyList(changes.deleteTags, 'tag', 'deleteTags');
    const setMetrics = Object.fromEntries(checkMetrics(changes.setMetrics, 'setMetrics'));
    const deleteMetrics = checkKeyList(changes.deleteMetrics, 'metric', 'deleteMetrics');
    const text = (v: unknown, field: string, max?: number): string | null | undefined =>
      v === undefined ? undefined : v === null || v === '' ? null : (checkText(v, field, max) as string);
    const description = text(changes.description, 'description', MAX_DESCRIPTION_CHARS);
    const versionName = text(changes.versionName, 'versionName');
    let target: VersionRecord | undefined;
    await this.log.append(
      (state): EntryBody => {
        target = resolveRef(state, parsed);
        return {
          t: 'update',
          at: new Date().toISOString(),
          name: target.name,
          version: target.version,
          setTags,
          deleteTags,
          setMetrics,
          deleteMetrics,
          ...(description !== undefined ? { description } : {}),
          ...(versionName !== undefined ? { versionName } : {}),
        };
      },
      () => undefined,
    );
    return toModelVersion(target!);
  }

  /** Points `alias` of model `name` at a version (a number or a reference such as `name@staging`), atomically. */
  async setAlias(name: string, alias: string, target: number | VersionRef): Promise<ModelVersion> {
    this.open();
    checkName(name);
    checkAlias(alias);
    const parsed: ParsedRef = typeof target === 'number' ? (checkVersionNumber(target), { kind: 'version', name, version: target }) : parseRef(target);
    if (parsed.name !== name) throw new ModelStoreError('INVALID_ARGUMENT', `Alias "${alias}" of model "${name}" cannot point at a version of "${parsed.name}".`);
    let rec: VersionRecord | undefined;
    await this.log.append(
      (state) => {
        rec = resolveRef(state, parsed);
        const previous = state.models.get(name)!.aliases.get(alias);
        if (previous === rec.version) return null;
        return { t: 'alias-set', at: new Date().toISOString(), name, alias, version: rec.version, ...(previous !== undefined ? { previous } : {}) };
      },
      () => undefined,
    );
    return toModelVersion(rec!);
  }

  /** Removes an alias; false when the model had no such alias. */
  async deleteAlias(name: string, alias: string): Promise<boolean> {
    this.open();
    checkName(name);
    checkAlias(alias);
    const done = await this.log.append(
      (state) => {
        const previous = requireModel(state, name).aliases.get(alias);
        if (previous === undefined) return null;
        return { t: 'alias-delete', at: new Date().toISOString(), name, alias, previous };
      },
      () => true,
    );
    return done === true;
  }

  /** Soft-deletes a version: it leaves searches and references (its aliases are removed) until restored or purged. */
  async deleteVersion(ref: VersionRef): Promise<ModelVersion> {
    return this.changeState(ref, 'delete');
  }

  /** Restores a soft-deleted version (its aliases are not restored). */
  async restoreVersion(ref: VersionRef): Promise<ModelVersion> {
    return this.changeState(ref, 'restore');
  }

  /** Removes a soft-deleted version for good; its blobs go at the next {@link gc} unless another version uses them. */
  async purgeVersion(ref: VersionRef): Promise<void> {
    await this.changeState(ref, 'purge');
  }

  private async changeState(ref: VersionRef, op: 'delete' | 'restore' | 'purge'): Promise<ModelVersion> {
    this.open();
    const parsed = parseRef(ref);
    if (op !== 'delete' && parsed.kind !== 'version') {
      throw new ModelStoreError('INVALID_ARGUMENT', `${op} takes a version number ("${parsed.name}/3"): a deleted version has no alias and is never the latest.`);
    }
    let rec: VersionRecord | undefined;
    let copy: ModelVersion | undefined;
    await this.log.append(
      (state): EntryBody | null => {
        rec = resolveRef(state, parsed, op !== 'delete');
        const at = new Date().toISOString();
        if (op === 'delete') return { t: 'delete', at, name: rec.name, version: rec.version, aliases: [...rec.aliases] };
        if (op === 'restore') {
          if (rec.state === 'ready') return null;
          return { t: 'restore', at, name: rec.name, version: rec.version };
        }
        if (rec.state !== 'deleted') {
          throw new ModelStoreError('FAILED_PRECONDITION', `${rec.name}/${rec.version} is not deleted: delete it first (a purge only removes soft-deleted versions).`);
        }
        copy = toModelVersion(rec);
        return { t: 'purge', at, name: rec.name, version: rec.version };
      },
      () => undefined,
    );
    return copy ?? toModelVersion(rec!);
  }

  // ---- lineage ----------------------------------------------------------------------------------------------------

  /** Records the versions a pipeline run (step) consumed; references are resolved now. */
  async recordLineage(input: LineageInput): Promise<RunLineage> {
    this.open();
    if (typeof input !== 'object' || input === null) throw new ModelStoreError('INVALID_ARGUMENT', 'recordLineage takes { runId, stage?, consumed: [refs] }.');
    const runId = checkRunId(input.runId);
    const stage = checkText(input.stage, 'stage');
    if (!Array.isArray(input.consumed) || input.consumed.length === 0 || input.consumed.length > 1000) {
      throw new ModelStoreError('INVALID_ARGUMENT', 'consumed must list 1 to 1000 version references ("name/3", "name@alias", "name").');
    }
    const refs = input.consumed.map((r) => parseRef(r));
    await this.log.append(
      (state): EntryBody => ({
        t: 'lineage',
        at: new Date().toISOString(),
        runId,
        ...(stage !== undefined ? { stage } : {}),
        consumed: refs.map((r) => {
          const rec = resolveRef(state, r);
          return { name: rec.name, version: rec.version };
        }),
      }),
      () => undefined,
    );
    return this.runLineage(runId);
  }

  /** What a pipeline run produced (versions saved with its `pipelineRunId`) and consumed. */
  async runLineage(runId: string): Promise<RunLineage> {
    const id = checkRunId(runId);
    const run = (await this.fresh()).runs.get(id);
    if (!run) throw new ModelStoreError('NOT_FOUND', `No lineage for pipeline run "${id}": no version was saved with it as pipelineRunId, and none was recorded as consumed by it.`);
    const copy = (l: { name: string; version: number; stage?: string }) => ({ name: l.name, version: l.version, ...(l.stage !== undefined ? { stage: l.stage } : {}) });
    return { runId: id, produced: run.produced.map(copy), consumed: run.consumed.map(copy) };
  }

  /** The run and step that produced a version, and the runs that consumed it. */
  async versionLineage(ref: VersionRef): Promise<VersionLineage> {
    const state = await this.fresh();
    const rec = resolveRef(state, parseRef(ref), true);
    const out: VersionLineage = { consumedBy: (state.consumers.get(versionKey(rec.name, rec.version)) ?? []).map((c) => ({ ...c })) };
    const m = rec.metadata;
    if (m.pipelineRunId !== undefined) {
      out.producedBy = {
        runId: m.pipelineRunId,
        ...(m.pipelineName !== undefined ? { pipelineName: m.pipelineName } : {}),
        ...(m.pipelineStage !== undefined ? { stage: m.pipelineStage } : {}),
      };
    }
    return out;
  }

  // ---- upkeep and events --------------------------------------------------------------------------------------------

  /** Removes blobs no version references (older than the grace period), optionally purging old soft-deleted versions first. */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    this.open();
    return collectGarbage(
      {
        blobs: this.blobs,
        refresh: () => this.fresh(),
        purge: async (name, version) => {
          try {
            await this.purgeVersion({ name, version });
            return true;
          } catch (err) {
            if (err instanceof ModelStoreError && (err.code === 'FAILED_PRECONDITION' || err.code === 'NOT_FOUND')) return false;
            throw err;
          }
        },
        now: () => new Date(),
      },
      options,
    );
  }

  /** Events after `sinceSeq` (0: from the beginning), at most `limit` entries' worth, in the order every reader sees them. */
  async events(sinceSeq = 0, limit = 1000): Promise<EventPage> {
    this.open();
    if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0) throw new ModelStoreError('INVALID_ARGUMENT', `sinceSeq must be a non-negative integer, got ${show(sinceSeq)}.`);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new ModelStoreError('INVALID_ARGUMENT', `limit must be an integer from 1 to 10000, got ${show(limit)}.`);
    return this.log.events(sinceSeq, limit);
  }

  /**
   * Calls `listener` with every event after `options.sinceSeq` (default: from now on), polling the log every
   * `intervalMs` (default 1000). Events arrive in log order, each once; a listener's promise is awaited before the next.
   */
  async watch(listener: (event: StoreEvent) => void | Promise<void>, options: WatchOptions = {}): Promise<StoreWatch> {
    this.open();
    const intervalMs = options.intervalMs ?? 1000;
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 10 || intervalMs > 2_147_483_647) {
      throw new ModelStoreError('INVALID_ARGUMENT', `intervalMs must be a number of milliseconds from 10 to 2147483647, got ${show(intervalMs)}.`);
    }
    if (options.sinceSeq !== undefined && (!Number.isSafeInteger(options.sinceSeq) || options.sinceSeq < 0)) {
      throw new ModelStoreError('INVALID_ARGUMENT', `sinceSeq must be a non-negative integer (0: the whole history; omit it for events from now on), got ${show(options.sinceSeq)}.`);
    }
    let since = options.sinceSeq ?? (await this.fresh()).seq;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const poll = async (): Promise<void> => {
      try {
        for (;;) {
          const page = await this.log.events(since, 1000);
          for (const e of page.events) {
            if (stopped) return;
            try {
              await listener(e);
            } catch (err) {
              options.onError?.(err);
            }
          }
          const advanced = page.lastSeq > since;
          since = page.lastSeq;
          if (!advanced || stopped) break;
        }
      } catch (err) {
        options.onError?.(err);
      }
    };
    const schedule = (): void => {
      if (stopped) return;
      timer = setTimeout(() => {
        running = poll().then(schedule);
      }, intervalMs);
      timer.unref?.();
    };
    running = poll().then(schedule);
    const handle = {
      stop: async (): Promise<void> => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await running;
      },
    };
    this.watches.add(handle);
    return {
      close: async () => {
        this.watches.delete(handle);
        await handle.stop();
      },
    };
  }

  /** Stops watches, waits for writes in flight and releases the backends this store opened. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.stop()));
    this.watches.clear();
    await this.log.close();
    if (this.ownKv) await this.log.kv.close();
    if (this.ownBlobs) await this.blobs.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A source that yields nothing: with an expected SHA-256 of a held blob, a put only touches it. */
async function* emptySource(): AsyncGenerator<Uint8Array> {}
