/**
 * Child process of the store backend tests (test/store-backends.test.ts). Argument: JSON {@link WriterArgs}. Opens the
 * model store, prints `ready`, and (unless `start` is `now`) waits for a line `go <epoch ms>` on stdin and for that
 * moment, so that concurrent writers start together. Then, by `mode`:
 *
 * - `saves`: makes one copy of the example package (under `work/<id>`), then saves it `count` times as `name`, each
 *   time with its genome.json description rewritten to `writer <id> save <i>` (a new genome.json blob per save; the
 *   model and background blobs are shared) and with tags `writer=<id>`, `save=<id>:<i>`, metric `i`. Odd saves move
 *   the alias `alias` (if given) in the same atomic step (`aliases`), even saves move it right after with `setAlias`.
 *   Prints `saved <version> <id>:<i>` after each. `extra` adds files to the package (test 2: blobs nobody else has).
 *   With GENOME_STORE_TEST_PAUSE_AFTER_UPLOAD set, the first save pauses forever after its upload.
 * - `history`: a scripted history on two models (saves with metrics and aliases, updates, alias moves and deletes,
 *   soft delete, restore, purge, lineage), `count` saves in all.
 * - `dump`: nothing but the dump below.
 *
 * Finally (`saves`, `history`, `dump`) prints `dump <json>`: what the store shows ({@link dumpStore}), then closes the
 * store (waiting for background snapshot writes) and prints `done`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { openModelStore, type ModelStore } from '../../src/store.js';
import type { ModelVersion, RegisteredModel, StoreEvent } from '../../src/types.js';
import { waitForGo } from './children.js';
import { makePackage } from './packages.js';

export interface WriterArgs {
  mode: 'saves' | 'history' | 'dump';
  metadata: string;
  namespace: string;
  blobs: string;
  /** Store dir (cache) and where the writer's package copy goes (`<work>/<id>`). */
  work: string;
  snapshotEvery?: number;
  name: string;
  id: string;
  count: number;
  alias?: string;
  extra?: Record<string, string>;
  /** `now`: start at once; `go` (default): wait for the `go` line. */
  start?: 'now' | 'go';
}

/** What a store shows, through its public reads only: equal stores dump equal objects. */
export interface StoreDump {
  seq: number;
  models: RegisteredModel[];
  versions: Record<string, ModelVersion[]>;
  search: ModelVersion[];
  events: StoreEvent[];
}

/** Every model, every version (deleted ones included, all pages), a search over everything and every event. */
export async function dumpStore(store: ModelStore): Promise<StoreDump> {
  await store.refresh();
  const models: RegisteredModel[] = [];
  let token: string | undefined;
  do {
    const page = await store.listModels({ pageSize: 7, ...(token ? { pageToken: token } : {}) });
    models.push(...page.models);
    token = page.nextPageToken;
  } while (token);
  const versions: Record<string, ModelVersion[]> = {};
  for (const m of models) {
    const list: ModelVersion[] = [];
    let vt: string | undefined;
    do {
      const page = await store.listVersions(m.name, { includeDeleted: true, pageSize: 7, ...(vt ? { pageToken: vt } : {}) });
      list.push(...page.versions);
      vt = page.nextPageToken;
    } while (vt);
    versions[m.name] = list;
  }
  const search: ModelVersion[] = [];
  let st: string | undefined;
  do {
    const page = await store.search({ includeDeleted: true, orderBy: [{ field: 'name' }, { field: 'version', direction: 'asc' }], pageSize: 9, ...(st ? { pageToken: st } : {}) });
    search.push(...page.versions);
    st = page.nextPageToken;
  } while (st);
  const events: StoreEvent[] = [];
  let since = 0;
  for (;;) {
    const page = await store.events(since, 10);
    events.push(...page.events);
    if (page.lastSeq === since) break;
    since = page.lastSeq;
  }
  return { seq: store.seq, models, versions, search, events };
}

async function saves(store: ModelStore, args: WriterArgs): Promise<void> {
  const pkg = makePackage(args.work, args.id, args.extra ?? {});
  const manifestPath = join(pkg, 'genome.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  for (let i = 0; i < args.count; i++) {
    const description = `writer ${args.id} save ${i}`;
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, description }, null, 2));
    const viaSave = args.alias !== undefined && i % 2 === 1;
    const v = await store.saveModel(pkg, {
      canonicalName: args.name,
      description,
      tags: { writer: args.id, save: `${args.id}:${i}` },
      metrics: { i },
      ...(viaSave ? { aliases: [args.alias!] } : {}),
    });
    if (args.alias !== undefined && !viaSave) await store.setAlias(args.name, args.alias, v.version);
    process.stdout.write(`saved ${v.version} ${args.id}:${i}\n`);
  }
}

async function history(store: ModelStore, args: WriterArgs): Promise<void> {
  const pkg = makePackage(args.work, args.id);
  const manifestPath = join(pkg, 'genome.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  const other = `${args.name}-b`;
  for (let i = 0; i < args.count; i++) {
    const name = i % 3 === 2 ? other : args.name;
    const description = `history ${args.id} save ${i}`;
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, description }, null, 2));
    const v = await store.saveModel(pkg, {
      canonicalName: name,
      description,
      application: i % 2 ? 'fraud' : 'churn',
      tags: { save: String(i), team: i % 4 ? 'risk' : 'growth' },
      metrics: { auc: 0.5 + i / 100, loss: 1 / (i + 1) },
      ...(i % 4 === 1 ? { aliases: ['staging'] } : {}),
      ...(i % 5 === 4 ? { pipelineRunId: `run-${i}`, pipelineStage: 'train' } : {}),
    });
    if (i % 3 !== 1) await store.setAlias(name, 'production', v.version);
    if (i % 4 === 3) await store.updateVersion({ name, version: v.version }, { setMetrics: { f1: i / 10 }, deleteTags: ['team'], versionName: `v${i}` });
    if (i % 6 === 5) await store.deleteVersion({ name, version: v.version });
    if (i % 12 === 11) await store.restoreVersion({ name, version: v.version });
    if (i % 10 === 7 && i % 6 !== 5) {
      await store.deleteVersion({ name, version: v.version });
      await store.purgeVersion({ name, version: v.version });
    }
    if (i % 7 === 6) await store.recordLineage({ runId: `consume-${i}`, stage: 'score', consumed: [`${args.name}@production`, `${name}/${v.version}`] });
    if (i === 9) await store.deleteAlias(args.name, 'staging');
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as WriterArgs;
  const store = await openModelStore({
    metadata: args.metadata,
    namespace: args.namespace,
    blobs: args.blobs,
    dir: args.work,
    ...(args.snapshotEvery !== undefined ? { snapshotEvery: args.snapshotEvery } : {}),
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  process.stdout.write('ready\n');
  if (args.start !== 'now') {
    const startAt = await waitForGo();
    await sleep(Math.max(0, startAt - Date.now()));
  }
  if (args.mode === 'saves') await saves(store, args);
  else if (args.mode === 'history') await history(store, args);
  process.stdout.write(`dump ${JSON.stringify(await dumpStore(store))}\n`);
  await store.close();
  process.stdout.write('done\n');
}

// Imported by the test for dumpStore: run only as the child process.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
