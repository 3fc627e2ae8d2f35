/**
 * Garbage collection of blobs: a blob is referenced while any version that is not purged (ready or soft-deleted) lists
 * it. Unreferenced blobs older than the grace period are removed; younger ones are kept, because a save uploads its
 * blobs before it commits its version (and touches blobs it reuses), so a young unreferenced blob may belong to a save
 * in flight. A writer killed between upload and commit leaves exactly such orphans, which a later gc removes.
 *
 * The referenced set is computed after listing the blobs and again right before deleting, so that a version committed
 * while the listing ran keeps its blobs.
 */
import type { BlobInfo, BlobStore } from './blobs/blob-store.js';
import { ModelStoreError } from './errors.js';
import type { GcOptions, GcReport } from './types.js';
import type { StoreState } from './state/state.js';

/** Default grace period: one hour. */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

/** What {@link collectGarbage} needs from the store. */
export interface GcContext {
  blobs: BlobStore;
  /** Catches up with the log and returns the current state. */
  refresh(): Promise<StoreState>;
  /** Purges one soft-deleted version; false when it changed meanwhile (restored, purged by someone else). */
  purge(name: string, version: number): Promise<boolean>;
  /** The store's clock (deletion times were taken from it). */
  now(): Date;
}

function checkMs(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ModelStoreError('INVALID_ARGUMENT', `${name} must be a non-negative number of milliseconds, got ${String(value)}.`);
  }
}

function referencedBlobs(state: StoreState, exclude?: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const v of state.versions()) {
    if (exclude?.has(`${v.name}/${v.version}`)) continue;
    for (const f of v.files) out.add(f.sha256);
  }
  return out;
}

/** Runs a garbage collection. */
export async function collectGarbage(ctx: GcContext, options: GcOptions = {}): Promise<GcReport> {
  checkMs(options.graceMs, 'graceMs');
  checkMs(options.purgeDeletedOlderThanMs, 'purgeDeletedOlderThanMs');
  const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  const dryRun = options.dryRun === true;
  const purgedVersions: { name: string; version: number }[] = [];
  const wouldPurge = new Set<string>();

  if (options.purgeDeletedOlderThanMs !== undefined) {
    const state = await ctx.refresh();
    const cutoff = new Date(ctx.now().getTime() - options.purgeDeletedOlderThanMs).toISOString();
    const old: { name: string; version: number }[] = [];
    for (const v of state.versions()) if (v.state === 'deleted' && v.deletedAt !== undefined && v.deletedAt <= cutoff) old.push({ name: v.name, version: v.version });
    old.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version));
    for (const v of old) {
      if (dryRun) {
        wouldPurge.add(`${v.name}/${v.version}`);
        purgedVersions.push(v);
      } else if (await ctx.purge(v.name, v.version)) {
        purgedVersions.push(v);
      }
    }
  }

  let referenced = referencedBlobs(await ctx.refresh(), wouldPurge);
  const candidates: BlobInfo[] = [];
  let keptYoungBlobs = 0;
  const youngAfter = Date.now() - graceMs;
  // A dry run must not remove abandoned partial uploads either.
  for await (const blob of ctx.blobs.list({ partialOlderThanMs: dryRun ? Number.MAX_SAFE_INTEGER : graceMs })) {
    if (referenced.has(blob.sha256)) continue;
    if (blob.modifiedAt.getTime() > youngAfter) keptYoungBlobs++;
    else candidates.push(blob);
  }

  // Versions committed while the listing ran keep their blobs.
  referenced = referencedBlobs(await ctx.refresh(), wouldPurge);
  let removedBlobs = 0;
  let removedBytes = 0;
  for (const blob of candidates) {
    if (referenced.has(blob.sha256)) continue;
    if (!dryRun) {
      // A save reusing the blob touches it before it commits: a blob touched since the listing is kept.
      const now = await ctx.blobs.stat(blob.sha256);
      if (!now) continue;
      if (now.modifiedAt.getTime() > Date.now() - graceMs) {
        keptYoungBlobs++;
        continue;
      }
      await ctx.blobs.delete(blob.sha256);
    }
    removedBlobs++;
    removedBytes += blob.size;
  }
  return { referencedBlobs: referenced.size, removedBlobs, removedBytes, keptYoungBlobs, purgedVersions };
}
