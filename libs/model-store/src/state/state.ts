/**
 * {@link StoreState}: what replaying the log 1..seq builds in memory: models (with the highest version number ever
 * given and their aliases), versions, pipeline runs, and the indexes searches use (tags by key and value, consumers
 * of a version). Applying is deterministic: two readers that applied the same entries hold equal states, and
 * {@link StoreState.toSnapshot} of equal states is the same text.
 *
 * Each entry is checked against the state before it is applied (the version number follows, the alias pointed where
 * the entry says, ...): writers validate before appending, so a failed check means the log was altered, and is
 * `ModelStoreError` CORRUPT naming the entry.
 */
import { ModelStoreError } from '../errors.js';
import { packageDigest, packageSize, compareUtf8 } from '../digest.js';
import type { LogEntry } from '../log/entries.js';
import {
  insertSorted,
  removeSorted,
  versionKey,
  type LineageLink,
  type ModelRecord,
  type RunRecord,
  type VersionRecord,
} from './records.js';

/** Where a consumed version was consumed. */
export interface ConsumerLink {
  runId: string;
  stage?: string;
}

export class StoreState {
  /** Last applied log sequence number (0: nothing applied). */
  seq = 0;
  /** Entries skipped because a newer writer wrote a type or format this code does not know. */
  skipped = 0;
  readonly models = new Map<string, ModelRecord>();
  readonly runs = new Map<string, RunRecord>();
  /** tag key → tag value → versions holding it (not purged). */
  readonly tagIndex = new Map<string, Map<string, Set<VersionRecord>>>();
  /** `name/version` → runs that consumed it. */
  readonly consumers = new Map<string, ConsumerLink[]>();
  /** Versions not purged, ready or deleted. */
  versionCount = 0;
  private sortedNames: string[] | undefined;

  /** Model names in ascending order (cached until a model is added). */
  names(): string[] {
    this.sortedNames ??= [...this.models.keys()].sort();
    return this.sortedNames;
  }

  /** Every version not purged. */
  *versions(): IterableIterator<VersionRecord> {
    for (const m of this.models.values()) yield* m.versions.values();
  }

  /** Counts an entry skipped at `seq`. */
  skip(seq: number): void {
    this.expectNext(seq);
    this.skipped++;
    this.seq = seq;
  }

  private expectNext(seq: number): void {
    if (seq !== this.seq + 1) throw new ModelStoreError('INTERNAL', `Log entry ${seq} applied after entry ${this.seq}; entries apply in order.`);
  }

  /** Checks `entry` against the state and applies it as entry `seq` (which must be `this.seq + 1`). */
  apply(seq: number, entry: LogEntry): void {
    this.expectNext(seq);
    const bad = (why: string): never => {
      const what = 'name' in entry ? `${entry.t} of ${entry.name}${'version' in entry ? `/${entry.version}` : ''}` : `${entry.t} of run ${entry.runId}`;
      throw new ModelStoreError(
        'CORRUPT',
        `Log entry ${seq} (${what}) does not follow from the entries before it: ${why}. The metadata store was changed by something other than the model store; restore it from a backup.`,
      );
    };
    switch (entry.t) {
      case 'create': {
        let model = this.models.get(entry.name);
        const expected = (model?.maxVersion ?? 0) + 1;
        if (entry.version !== expected) bad(`the next version is ${expected}`);
        if (packageDigest(entry.files) !== entry.digest) bad('its digest does not match its files');
        if (packageSize(entry.files) !== entry.size) bad('its size does not match its files');
        const paths = new Set<string>();
        for (let i = 0; i < entry.files.length; i++) {
          const f = entry.files[i]!;
          if (paths.has(f.path)) bad(`file ${f.path} is listed twice`);
          paths.add(f.path);
          if (i > 0 && compareUtf8(entry.files[i - 1]!.path, f.path) >= 0) bad('its files are not sorted by path');
        }
        if (!paths.has('genome.json')) bad('it has no genome.json');
        for (const a of entry.aliases) {
          if (model?.aliases.get(a.alias) !== a.previous) bad(`alias ${a.alias} pointed at ${model?.aliases.get(a.alias) ?? 'nothing'}, not ${a.previous ?? 'nothing'}`);
        }
        if (!model) {
          model = { name: entry.name, maxVersion: 0, createdAt: entry.at, updatedAt: entry.at, aliases: new Map(), versions: new Map() };
          this.models.set(entry.name, model);
          this.sortedNames = undefined;
        }
        const rec: VersionRecord = {
          name: entry.name,
          version: entry.version,
          metadata: { ...entry.metadata },
          tags: new Map(Object.entries(entry.tags)),
          metrics: new Map(Object.entries(entry.metrics)),
          files: entry.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
          digest: entry.digest,
          size: entry.size,
          state: 'ready',
          createdAt: entry.at,
          updatedAt: entry.at,
          ...(entry.createdBy !== undefined ? { createdBy: entry.createdBy } : {}),
          aliases: [],
        };
        model.maxVersion = entry.version;
        model.updatedAt = entry.at;
        model.versions.set(entry.version, rec);
        this.versionCount++;
        for (const [k, v] of rec.tags) this.indexTag(rec, k, v);
        for (const a of entry.aliases) this.pointAlias(model, a.alias, rec);
        const runId = rec.metadata.pipelineRunId;
        if (runId !== undefined) {
          const link: LineageLink = { name: rec.name, version: rec.version };
          if (rec.metadata.pipelineStage !== undefined) link.stage = rec.metadata.pipelineStage;
          this.run(runId).produced.push(link);
        }
        break;
      }
      case 'update': {
        const { model, rec } = this.existing(entry.name, entry.version, bad);
        if (rec.state !== 'ready') bad('the version is deleted');
        for (const k of entry.deleteTags) {
          const old = rec.tags.get(k);
          if (old !== undefined) {
            this.unindexTag(rec, k, old);
            rec.tags.delete(k);
          }
        }
        for (const [k, v] of Object.entries(entry.setTags)) {
          const old = rec.tags.get(k);
          if (old !== undefined) this.unindexTag(rec, k, old);
          rec.tags.set(k, v);
          this.indexTag(rec, k, v);
        }
        for (const k of entry.deleteMetrics) rec.metrics.delete(k);
        for (const [k, v] of Object.entries(entry.setMetrics)) rec.metrics.set(k, v);
        if (entry.description === null) delete rec.metadata.description;
        else if (entry.description !== undefined) rec.metadata.description = entry.description;
        if (entry.versionName === null) delete rec.metadata.versionName;
        else if (entry.versionName !== undefined) rec.metadata.versionName = entry.versionName;
        rec.updatedAt = entry.at;
        model.updatedAt = entry.at;
        break;
      }
      case 'delete': {
        const { model, rec } = this.existing(entry.name, entry.version, bad);
        if (rec.state !== 'ready') bad('the version is already deleted');
        if (entry.aliases.join('\u0000') !== rec.aliases.join('\u0000')) bad(`its aliases were [${rec.aliases.join(', ')}], not [${entry.aliases.join(', ')}]`);
        for (const a of [...rec.aliases]) model.aliases.delete(a);
        rec.aliases = [];
        rec.state = 'deleted';
        rec.deletedAt = entry.at;
        rec.updatedAt = entry.at;
        model.updatedAt = entry.at;
        break;
      }
      case 'restore': {
        const { model, rec } = this.existing(entry.name, entry.version, bad);
        if (rec.state !== 'deleted') bad('the version is not deleted');
        rec.state = 'ready';
        delete rec.deletedAt;
        rec.updatedAt = entry.at;
        model.updatedAt = entry.at;
        break;
      }
      case 'purge': {
        const { model, rec } = this.existing(entry.name, entry.version, bad);
        if (rec.state !== 'deleted') bad('only a deleted version can be purged');
        for (const [k, v] of rec.tags) this.unindexTag(rec, k, v);
        model.versions.delete(rec.version);
        this.versionCount--;
        model.updatedAt = entry.at;
        break;
      }
      case 'alias-set': {
        const { model, rec } = this.existing(entry.name, entry.version, bad);
        if (rec.state !== 'ready') bad('the version is deleted');
        if (model.aliases.get(entry.alias) !== entry.previous) bad(`the alias pointed at ${model.aliases.get(entry.alias) ?? 'nothing'}, not ${entry.previous ?? 'nothing'}`);
        this.pointAlias(model, entry.alias, rec);
        model.updatedAt = entry.at;
        break;
      }
      case 'alias-delete': {
        const model = this.models.get(entry.name) ?? bad('no such model');
        const current = model.aliases.get(entry.alias);
        if (current !== entry.previous) bad(`the alias pointed at ${current ?? 'nothing'}, not ${entry.previous}`);
        model.aliases.delete(entry.alias);
        const rec = model.versions.get(entry.previous);
        if (rec) removeSorted(rec.aliases, entry.alias);
        model.updatedAt = entry.at;
        break;
      }
      case 'lineage': {
        for (const c of entry.consumed) this.existing(c.name, c.version, bad);
        const run = this.run(entry.runId);
        for (const c of entry.consumed) {
          const link: LineageLink = { name: c.name, version: c.version };
          if (entry.stage !== undefined) link.stage = entry.stage;
          if (run.consumed.some((x) => x.name === c.name && x.version === c.version && x.stage === entry.stage)) continue;
          run.consumed.push(link);
          this.addConsumer(versionKey(c.name, c.version), entry.stage !== undefined ? { runId: entry.runId, stage: entry.stage } : { runId: entry.runId });
        }
        break;
      }
    }
    this.seq = seq;
  }

  private existing(name: string, version: number, bad: (why: string) => never): { model: ModelRecord; rec: VersionRecord } {
    const model = this.models.get(name) ?? bad(`there is no model ${name}`);
    const rec = model.versions.get(version) ?? bad(version > model.maxVersion ? `version ${version} was never saved` : `version ${version} was purged`);
    return { model, rec };
  }

  private run(runId: string): RunRecord {
    let run = this.runs.get(runId);
    if (!run) {
      run = { runId, produced: [], consumed: [] };
      this.runs.set(runId, run);
    }
    return run;
  }

  /** Points `alias` of `model` at `rec`, taking it off the version it pointed at before. */
  private pointAlias(model: ModelRecord, alias: string, rec: VersionRecord): void {
    const before = model.aliases.get(alias);
    if (before !== undefined) {
      const old = model.versions.get(before);
      if (old) removeSorted(old.aliases, alias);
    }
    model.aliases.set(alias, rec.version);
    insertSorted(rec.aliases, alias);
  }

  /**
   * Adds a consumer of a version, keeping the list sorted by run id then stage (no stage first): the order cannot
   * depend on the order entries were applied in, because a state loaded from a snapshot rebuilds these lists from the
   * runs (sorted by id), not from the log.
   */
  private addConsumer(key: string, link: ConsumerLink): void {
    const list = this.consumers.get(key) ?? [];
    const cmp = (a: ConsumerLink, b: ConsumerLink): number => {
      if (a.runId !== b.runId) return a.runId < b.runId ? -1 : 1;
      if (a.stage === b.stage) return 0;
      if (a.stage === undefined) return -1;
      if (b.stage === undefined) return 1;
      return a.stage < b.stage ? -1 : 1;
    };
    let i = list.length;
    while (i > 0 && cmp(list[i - 1]!, link) > 0) i--;
    list.splice(i, 0, link);
    this.consumers.set(key, list);
  }

  private indexTag(rec: VersionRecord, key: string, value: string): void {
    let byValue = this.tagIndex.get(key);
    if (!byValue) {
      byValue = new Map();
      this.tagIndex.set(key, byValue);
    }
    let set = byValue.get(value);
    if (!set) {
      set = new Set();
      byValue.set(value, set);
    }
    set.add(rec);
  }

  private unindexTag(rec: VersionRecord, key: string, value: string): void {
    const byValue = this.tagIndex.get(key);
    const set = byValue?.get(value);
    if (!set) return;
    set.delete(rec);
    if (set.size === 0) byValue!.delete(value);
    if (byValue!.size === 0) this.tagIndex.delete(key);
  }

  /** Restores indexes after records were loaded directly (from a snapshot). */
  rebuildIndexes(): void {
    this.tagIndex.clear();
    this.consumers.clear();
    this.versionCount = 0;
    this.sortedNames = undefined;
    for (const m of this.models.values()) {
      for (const rec of m.versions.values()) {
        this.versionCount++;
        rec.aliases = [];
        for (const [k, v] of rec.tags) this.indexTag(rec, k, v);
      }
      for (const [alias, version] of m.aliases) {
        const rec = m.versions.get(version);
        if (rec) insertSorted(rec.aliases, alias);
      }
    }
    for (const run of this.runs.values()) {
      for (const c of run.consumed) this.addConsumer(versionKey(c.name, c.version), c.stage !== undefined ? { runId: run.runId, stage: c.stage } : { runId: run.runId });
    }
  }
}
