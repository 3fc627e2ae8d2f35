/**
 * ModelStore.search: MLflow-style filters (equality, prefix, numeric ranges on metrics, tags, metadata fields,
 * aliases, AND), orderBy, cursor pagination and latestOnly on a real store; filter syntax errors; and a property test
 * comparing the store's search (all pages concatenated) with a brute-force filter and sort over getVersion results.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatFilter } from '../src/search/filter.js';
import { openModelStore, type ModelStore } from '../src/store.js';
import type { ModelVersion, SearchCondition, SearchQuery, StoredFile } from '../src/types.js';
import { examplePackage, makePackage, scratch } from './helpers/packages.js';
import { expectError, scratchStore } from './helpers/store-helpers.js';

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** Every page of a search, concatenated; checks page sizes and that the last page has no token. */
async function searchAll(store: ModelStore, query: SearchQuery, pageSize: number): Promise<ModelVersion[]> {
  const out: ModelVersion[] = [];
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages > 10_000) throw new Error('too many pages');
    const page = await store.search({ ...query, pageSize, ...(token !== undefined ? { pageToken: token } : {}) });
    if (page.versions.length > pageSize) throw new Error(`a page of ${page.versions.length} > pageSize ${pageSize}`);
    out.push(...page.versions);
    token = page.nextPageToken;
    if (token === undefined) return out;
    if (page.versions.length === 0) throw new Error('an empty page with a next page token');
  }
}

const ids = (vs: ModelVersion[]): string[] => vs.map((v) => `${v.name}/${v.version}`);

t.test('search on a real store: filters, orderBy, pagination, latestOnly', async (t) => {
  const { store } = await scratchStore(t);
  const work = scratch(t);
  const pkg = makePackage(work, 'p');
  // fraud: 3 versions; churn: 2; fraud-eu: 1.
  await store.saveModel(pkg, { canonicalName: 'fraud', application: 'payments', tags: { team: 'risk', stage: 'dev' }, metrics: { auc: 0.81, latency_ms: 12 }, pipelineName: 'train-fraud' });
  await store.saveModel(pkg, { canonicalName: 'fraud', application: 'payments', tags: { team: 'risk-ops', stage: 'prod' }, metrics: { auc: 0.91, latency_ms: 15 }, aliases: ['production'], createdBy: 'alice' });
  await store.saveModel(pkg, { canonicalName: 'fraud', application: 'payments', tags: { team: 'risk' }, metrics: { auc: 0.93 }, framework: 'xgboost', versionName: 'v3' });
  await store.saveModel(pkg, { canonicalName: 'churn', application: 'crm', tags: { team: 'growth' }, metrics: { auc: 0.7, latency_ms: 3 }, aliases: ['production', 'champion'] });
  await store.saveModel(pkg, { canonicalName: 'churn', application: 'crm', tags: { team: 'growth', 'odd-key.x': "it's" }, metrics: { auc: 0.75 } });
  await store.saveModel(pkg, { canonicalName: 'fraud-eu', application: 'payments-eu', tags: { team: 'risk' }, metrics: { auc: 0.88, 'odd-key': 1 } });

  const byVersion = { orderBy: [{ field: 'name', direction: 'asc' as const }, { field: 'version', direction: 'asc' as const }] };
  const q = async (query: SearchQuery): Promise<string[]> => ids(await searchAll(store, { ...byVersion, ...query }, 100));

  // Equality on the name, on metadata fields, on tags.
  t.same(await q({ filter: "name = 'fraud'" }), ['fraud/1', 'fraud/2', 'fraud/3']);
  t.same(await q({ where: [{ field: 'name', op: '=', value: 'fraud' }] }), ['fraud/1', 'fraud/2', 'fraud/3']);
  t.same(await q({ filter: "application = 'crm'" }), ['churn/1', 'churn/2']);
  t.same(await q({ filter: "tags.team = 'risk'" }), ['fraud/1', 'fraud/3', 'fraud-eu/1']);
  t.same(await q({ filter: "tag.team == 'growth'" }), ['churn/1', 'churn/2'], 'MLflow spellings: tag.<key>, ==');
  t.same(await q({ filter: "tags.`odd-key.x` = 'it''s'" }), ['churn/2'], 'a quoted key, a doubled quote');
  t.same(await q({ filter: 'tags."odd-key.x" LIKE \'it\'\'%\'' }), ['churn/2']);
  t.same(await q({ filter: "framework = 'xgboost'" }), ['fraud/3']);
  t.same(await q({ filter: "framework = 'onnx'" }), ['churn/1', 'churn/2', 'fraud/1', 'fraud/2', 'fraud-eu/1'], 'framework defaulted from the manifest is searchable');
  t.same(await q({ filter: "versionName = 'v3'" }), ['fraud/3']);
  t.same(await q({ filter: "createdBy = 'alice'" }), ['fraud/2']);
  t.same(await q({ filter: "pipeline_name = 'train-fraud'" }), ['fraud/1']);
  // != is false for versions lacking the field.
  t.same(await q({ filter: "tags.stage != 'prod'" }), ['fraud/1']);
  t.same(await q({ filter: "name != 'fraud'" }), ['churn/1', 'churn/2', 'fraud-eu/1']);

  // Prefix (LIKE 'x%').
  t.same(await q({ filter: "name LIKE 'fraud%'" }), ['fraud/1', 'fraud/2', 'fraud/3', 'fraud-eu/1']);
  t.same(await q({ filter: "tags.team LIKE 'risk%'" }), ['fraud/1', 'fraud/2', 'fraud/3', 'fraud-eu/1']);
  t.same(await q({ filter: "application LIKE 'payments-%'" }), ['fraud-eu/1']);
  t.same(await q({ filter: "tags.team LIKE 'risk'" }), ['fraud/1', 'fraud/3', 'fraud-eu/1'], "LIKE without % is equality");
  t.same(await q({ where: [{ field: 'tags.team', op: 'prefix', value: 'risk-' }] }), ['fraud/2']);

  // Numeric ranges on metrics and version.
  t.same(await q({ filter: 'metrics.auc >= 0.9' }), ['fraud/2', 'fraud/3']);
  t.same(await q({ filter: 'metrics.auc > 0.75 AND metrics.auc < 0.91' }), ['fraud/1', 'fraud-eu/1']);
  t.same(await q({ filter: 'metrics.auc <= 0.75' }), ['churn/1', 'churn/2']);
  t.same(await q({ filter: 'metric.latency_ms < 13' }), ['churn/1', 'fraud/1'], 'versions lacking the metric never match');
  t.same(await q({ filter: 'metrics.`odd-key` = 1' }), ['fraud-eu/1']);
  t.same(await q({ filter: "metrics.auc >= '0.9'" }), ['fraud/2', 'fraud/3'], 'a quoted number for a number field');
  t.same(await q({ filter: 'version >= 2' }), ['churn/2', 'fraud/2', 'fraud/3']);
  t.same(await q({ filter: 'version IN (1, 3)' }), ['churn/1', 'fraud/1', 'fraud/3', 'fraud-eu/1']);
  t.same(await q({ filter: "name IN ('churn', 'fraud-eu', 'nope')" }), ['churn/1', 'churn/2', 'fraud-eu/1']);

  // Aliases.
  t.same(await q({ filter: "alias = 'production'" }), ['churn/1', 'fraud/2']);
  t.same(await q({ filter: "aliases = 'champion'" }), ['churn/1']);
  t.same(await q({ filter: "alias LIKE 'champ%'" }), ['churn/1']);
  t.same(await q({ filter: "alias IN ('champion', 'production') AND name = 'churn'" }), ['churn/1']);
  t.same(await q({ filter: "alias != 'production' AND name = 'fraud'" }), ['fraud/1', 'fraud/3'], '!= holds for versions without the alias');

  // AND of several kinds; filter text and where together.
  t.same(await q({ filter: "application = 'payments' AND metrics.auc > 0.85 AND tags.team LIKE 'risk%'" }), ['fraud/2', 'fraud/3']);
  t.same(await q({ filter: 'metrics.auc > 0.85', where: [{ field: 'name', op: 'prefix', value: 'fraud' }, { field: 'tags.team', op: '=', value: 'risk' }] }), ['fraud/3', 'fraud-eu/1']);
  t.same(await q({ filter: "name = 'fraud' AND name = 'churn'" }), []);
  t.same(await q({ filter: '   ' }), ['churn/1', 'churn/2', 'fraud/1', 'fraud/2', 'fraud/3', 'fraud-eu/1'], 'a blank filter matches everything');

  // Times.
  const all = await searchAll(store, byVersion, 100);
  const third = all.find((v) => v.name === 'fraud' && v.version === 3)!;
  t.same(ids(await searchAll(store, { ...byVersion, filter: `createdAt >= '${third.createdAt}'` }, 100)), ids(all.filter((v) => v.createdAt >= third.createdAt)));
  t.same(ids(await searchAll(store, { ...byVersion, filter: `created_at LIKE '${third.createdAt.slice(0, 4)}%'` }, 100)), ids(all), 'prefix on a time');

  // orderBy: metrics descending (versions lacking the key last), ties by name then version descending.
  t.same(ids(await searchAll(store, { orderBy: [{ field: 'metrics.latency_ms' }] }, 100)), ['fraud/2', 'fraud/1', 'churn/1', 'churn/2', 'fraud/3', 'fraud-eu/1']);
  t.same(ids(await searchAll(store, { orderBy: [{ field: 'metrics.latency_ms', direction: 'asc' }] }, 100)), ['churn/1', 'fraud/1', 'fraud/2', 'churn/2', 'fraud/3', 'fraud-eu/1']);
  t.same(ids(await searchAll(store, { orderBy: [{ field: 'application', direction: 'asc' }] }, 100)), ['churn/2', 'churn/1', 'fraud/3', 'fraud/2', 'fraud/1', 'fraud-eu/1']);
  t.same(ids(await searchAll(store, {}, 100)), ids([...all].sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.name !== b.name ? (a.name < b.name ? -1 : 1) : b.version - a.version))), 'default: newest first');

  // Pagination: each version exactly once whatever the page size.
  for (const pageSize of [1, 2, 4, 5, 6, 7]) {
    t.same(ids(await searchAll(store, { orderBy: [{ field: 'metrics.auc' }] }, pageSize)), ['fraud/3', 'fraud/2', 'fraud-eu/1', 'fraud/1', 'churn/2', 'churn/1'], `pageSize ${pageSize}`);
  }
  // A page token belongs to its query.
  const first = await store.search({ filter: "name LIKE 'fraud%'", pageSize: 2 });
  t.ok(first.nextPageToken);
  await expectError(t, store.search({ filter: "name LIKE 'f%'", pageSize: 2, pageToken: first.nextPageToken! }), 'INVALID_ARGUMENT', 'another query');
  await expectError(t, store.search({ pageToken: Buffer.from('{"q":1}').toString('base64url') }), 'INVALID_ARGUMENT', 'pageToken');
  t.same(ids((await store.search({ filter: "name LIKE 'fraud%'", pageSize: 50, pageToken: first.nextPageToken! })).versions).length, 2, 'the same query with another page size continues');
  // Versions saved between pages after the cursor appear; none repeats.
  const p1 = await store.search({ orderBy: [{ field: 'version', direction: 'asc' }], pageSize: 3 });
  await store.saveModel(pkg, { canonicalName: 'aaa' }); // version 1: sorts among the first page's keys
  await store.saveModel(pkg, { canonicalName: 'fraud', tags: { team: 'risk' } }); // fraud/4: after the cursor
  const rest = await searchAll(store, { orderBy: [{ field: 'version', direction: 'asc' }], pageToken: p1.nextPageToken! }, 3);
  const seen = [...ids(p1.versions), ...ids(rest)];
  t.equal(new Set(seen).size, seen.length, 'no version twice across pages');
  t.ok(seen.includes('fraud/4'), 'a version saved after the cursor shows up');

  // latestOnly: the highest matching version of each name.
  t.same(ids(await searchAll(store, { ...byVersion, latestOnly: true }, 2)), ['aaa/1', 'churn/2', 'fraud/4', 'fraud-eu/1']);
  t.same(ids(await searchAll(store, { ...byVersion, latestOnly: true, filter: "tags.team = 'risk' AND version < 4" }, 1)), ['fraud/3', 'fraud-eu/1'], 'highest among the matches');
  t.same(ids(await searchAll(store, { ...byVersion, latestOnly: true, filter: "alias = 'production'" }, 1)), ['churn/1', 'fraud/2']);

  // Deleted versions only with includeDeleted, and the state field.
  await store.deleteVersion('fraud/4');
  t.same(ids(await searchAll(store, { ...byVersion, latestOnly: true, filter: "name = 'fraud'" }, 10)), ['fraud/3']);
  t.same(ids(await searchAll(store, { ...byVersion, latestOnly: true, includeDeleted: true, filter: "name = 'fraud'" }, 10)), ['fraud/4']);
  t.same(ids(await searchAll(store, { ...byVersion, includeDeleted: true, filter: "state = 'deleted'" }, 10)), ['fraud/4']);
  t.same(ids(await searchAll(store, { ...byVersion, filter: "state = 'deleted'" }, 10)), []);
  // Results are full versions, equal to getVersion's.
  for (const v of await searchAll(store, byVersion, 3)) t.same(v, await store.getVersion(`${v.name}/${v.version}`));
});

t.test('search: a number written for a text field means the text as written; IN mixes numbers and text', async (t) => {
  const { store } = await scratchStore(t, { metadata: 'memory:' });
  const pkg = makePackage(scratch(t), 'p');
  await store.saveModel(pkg, { canonicalName: 'm', tags: { x: '1.50' }, versionName: '7' });
  await store.saveModel(pkg, { canonicalName: 'm', tags: { x: '1.5' } });
  const q = async (query: SearchQuery): Promise<string[]> => ids((await store.search({ ...query, orderBy: [{ field: 'version', direction: 'asc' }] })).versions);
  t.same(await q({ filter: 'tags.x = 1.50' }), ['m/1']);
  t.same(await q({ filter: 'tags.x = 1.5' }), ['m/2']);
  t.same(await q({ filter: "tags.x IN (1.50, '1.5')" }), ['m/1', 'm/2']);
  t.same(await q({ where: [{ field: 'tags.x', op: '=', value: 1.5 }] }), ['m/2']);
  t.same(await q({ filter: 'versionName = 7' }), ['m/1']);
  t.same(await q({ filter: 'version = 2.0' }), ['m/2'], 'a number field compares numbers');
  t.same(await q({ filter: "version_number = '2'" }), ['m/2']);
});

t.test('search refuses bad queries with INVALID_ARGUMENT naming the position or condition', async (t) => {
  const { store } = await scratchStore(t, { metadata: 'memory:' });
  const bad = async (query: SearchQuery, ...parts: string[]): Promise<void> => {
    await expectError(t, store.search(query), 'INVALID_ARGUMENT', ...parts);
  };
  await bad({ filter: "name = 'a' OR name = 'b'" }, 'OR is not supported', 'position 12');
  await bad({ filter: "name = 'a" }, 'unterminated string', 'position 8');
  await bad({ filter: 'name = a' }, 'quote text values', 'position 8');
  await bad({ filter: "name ~ 'a'" }, 'unexpected character', 'position 6');
  await bad({ filter: "nope = 'a'" }, 'unknown field "nope"', 'position 1', 'tags.<key>');
  await bad({ filter: "metrics.auc LIKE '0%'" }, 'metrics.auc does not take "prefix"');
  await bad({ filter: "metrics.auc > 'high'" }, '"high" is not a finite number');
  await bad({ filter: "name > 'a'" }, 'name does not take ">"');
  await bad({ filter: "tags.team LIKE '%risk'" }, "'%' may only end the pattern");
  await bad({ filter: "name ILIKE 'a%'" }, 'ILIKE is not supported');
  await bad({ filter: "NOT name = 'a'" }, 'expected a field name');
  await bad({ filter: "(name = 'a')" }, 'parentheses only enclose IN lists');
  await bad({ filter: 'name IN ()' }, 'IN list');
  await bad({ filter: "name = 'a' AND" }, 'the end of the filter');
  await bad({ filter: "createdAt > 'yesterday'" }, 'not an ISO 8601 time');
  await bad({ filter: "state = 'gone'" }, '"ready" or "deleted"');
  await bad({ where: [{ field: 'name', op: 'like' as never, value: 'a' }] }, 'where[0]', 'unknown operator');
  await bad({ where: [{ field: 'name', op: '=', value: ['a'] }] }, 'only "in" takes a list');
  await bad({ where: [{ field: 'name', op: 'in', value: [] }] }, '1 to 1000 values');
  await bad({ where: {} as never }, 'where must be an array');
  await bad({ orderBy: [{ field: 'bogus' }] }, 'orderBy[0]', 'unknown field');
  await bad({ orderBy: [{ field: 'name', direction: 'up' as never }] }, '"asc" or "desc"');
  await bad({ pageSize: 0.5 }, 'pageSize');
  await bad({ pageSize: 5000 }, 'pageSize');
  await bad({ pageToken: '@@@' }, 'pageToken');
  await bad({ filter: 3 as never }, 'filter must be a string');
});

// ---- property: the store's search equals a brute-force filter and sort over getVersion results ----------------------

const NAMES = ['a', 'ab', 'b', 'b-1', 'c'] as const;
const TAG_KEYS = ['team', 'stage'] as const;
const TAG_VALUES = ['risk', 'risk-ops', 'growth', 'r', ''] as const;
const METRIC_KEYS = ['auc', 'loss'] as const;
const METRIC_VALUES = [-1, 0, 0.5, 0.75, 0.9, 1, 2.5, 10] as const;
const APPS = ['payments', 'pay', 'crm'] as const;
const ALIASES = ['production', 'prod', 'staging'] as const;

interface VersionSpec {
  name: string;
  application?: string;
  createdBy?: string;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  aliases: string[];
  /** After saving: 0 nothing, 1 delete, 2 update tags/metrics, 3 set an alias. */
  then: number;
  thenTag: string;
  thenMetric: number;
  thenAlias: string;
}

const versionSpec: fc.Arbitrary<VersionSpec> = fc.record({
  name: fc.constantFrom(...NAMES),
  application: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
  createdBy: fc.option(fc.constantFrom('alice', 'bob'), { nil: undefined }),
  tags: fc.dictionary(fc.constantFrom(...TAG_KEYS), fc.constantFrom(...TAG_VALUES), { maxKeys: 2 }),
  metrics: fc.dictionary(fc.constantFrom(...METRIC_KEYS), fc.constantFrom(...METRIC_VALUES), { maxKeys: 2 }),
  aliases: fc.subarray([...ALIASES], { maxLength: 2 }),
  then: fc.nat(3),
  thenTag: fc.constantFrom(...TAG_VALUES.filter((v) => v !== '')),
  thenMetric: fc.constantFrom(...METRIC_VALUES),
  thenAlias: fc.constantFrom(...ALIASES),
});

type FieldGen = { field: string; kind: 'string' | 'number' | 'alias' | 'state' | 'time'; values: readonly (string | number)[] };
const FIELDS: FieldGen[] = [
  { field: 'name', kind: 'string', values: [...NAMES, 'zz'] },
  { field: 'version', kind: 'number', values: [1, 2, 3, 4] },
  { field: 'application', kind: 'string', values: APPS },
  { field: 'createdBy', kind: 'string', values: ['alice', 'bob', 'al'] },
  { field: 'framework', kind: 'string', values: ['onnx', 'on', 'sklearn'] },
  { field: 'tags.team', kind: 'string', values: TAG_VALUES },
  { field: 'tags.stage', kind: 'string', values: TAG_VALUES },
  { field: 'metrics.auc', kind: 'number', values: METRIC_VALUES },
  { field: 'metrics.loss', kind: 'number', values: [...METRIC_VALUES, 0.6] },
  { field: 'alias', kind: 'alias', values: [...ALIASES, 'pro', 's'] },
  { field: 'state', kind: 'state', values: ['ready', 'deleted'] },
  // Times: indexes into the sorted times of the versions, resolved once the versions exist.
  { field: 'createdAt', kind: 'time', values: [0, 1, 2, 3, 5, 8, 13] },
  { field: 'updatedAt', kind: 'time', values: [0, 1, 2, 3, 5, 8, 13] },
];
const OPS_OF: Record<FieldGen['kind'], readonly SearchCondition['op'][]> = {
  string: ['=', '!=', 'prefix', 'in'],
  number: ['=', '!=', '>', '>=', '<', '<=', 'in'],
  alias: ['=', '!=', 'prefix', 'in'],
  state: ['=', '!=', 'in'],
  time: ['>', '>=', '<', '<='],
};

const condition: fc.Arbitrary<SearchCondition> = fc.constantFrom(...FIELDS).chain((f) =>
  fc.constantFrom(...OPS_OF[f.kind]).chain((op) =>
    op === 'in'
      ? fc.uniqueArray(fc.constantFrom(...f.values), { minLength: 1, maxLength: 3 }).map((value): SearchCondition => ({ field: f.field, op, value }))
      : op === 'prefix'
        ? fc.constantFrom(...f.values.map(String), '', 'r', 'p', 'b').map((value): SearchCondition => ({ field: f.field, op, value }))
        : fc.constantFrom(...f.values).map((value): SearchCondition => ({ field: f.field, op, value })),
  ),
);

const ORDER_FIELDS = ['name', 'version', 'createdAt', 'updatedAt', 'application', 'createdBy', 'tags.team', 'tags.stage', 'metrics.auc', 'metrics.loss', 'alias', 'state'] as const;

interface QuerySpec {
  conditions: SearchCondition[];
  /** How many of the conditions (from the end) go into the filter text instead of `where`. */
  asText: number;
  orderBy: { field: string; direction?: 'asc' | 'desc' }[];
  latestOnly: boolean;
  includeDeleted: boolean;
  pageSize: number;
}

const querySpec: fc.Arbitrary<QuerySpec> = fc.record({
  conditions: fc.array(condition, { maxLength: 3 }),
  asText: fc.nat(3),
  orderBy: fc.array(fc.record({ field: fc.constantFrom(...ORDER_FIELDS), direction: fc.constantFrom('asc' as const, 'desc' as const, undefined) }), { maxLength: 2 }).map((list) =>
    list.map((o) => (o.direction === undefined ? { field: o.field } : { field: o.field, direction: o.direction })),
  ),
  latestOnly: fc.boolean(),
  includeDeleted: fc.boolean(),
  pageSize: fc.integer({ min: 1, max: 7 }),
});

/** A version's value of a field, read independently of the store's field table. */
function valueOf(v: ModelVersion, field: string): string | number | string[] | undefined {
  if (field === 'name' || field === 'version' || field === 'state' || field === 'createdAt' || field === 'updatedAt' || field === 'createdBy' || field === 'digest') return v[field];
  if (field === 'alias') return v.aliases;
  if (field.startsWith('tags.')) return Object.hasOwn(v.tags, field.slice(5)) ? v.tags[field.slice(5)] : undefined;
  if (field.startsWith('metrics.')) return Object.hasOwn(v.metrics, field.slice(8)) ? v.metrics[field.slice(8)] : undefined;
  return (v.metadata as Record<string, string | undefined>)[field];
}

function holds(v: ModelVersion, c: SearchCondition): boolean {
  const x = valueOf(v, c.field);
  const values = (Array.isArray(c.value) ? c.value : [c.value]).map((y) => (c.field === 'version' || c.field.startsWith('metrics.') ? Number(y) : String(y)));
  if (Array.isArray(x)) {
    // alias: the set of aliases a version holds.
    if (c.op === '=') return x.includes(values[0] as string);
    if (c.op === '!=') return !x.includes(values[0] as string);
    if (c.op === 'in') return x.some((a) => values.includes(a));
    return x.some((a) => a.startsWith(values[0] as string));
  }
  if (x === undefined) return false;
  const y = values[0]!;
  switch (c.op) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case 'in':
      return values.includes(x);
    case 'prefix':
      return typeof x === 'string' && x.startsWith(y as string);
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
  }
}

function sortKey(v: ModelVersion, field: string): string | number | null {
  const x = valueOf(v, field);
  if (Array.isArray(x)) return [...x].sort()[0] ?? null;
  return x ?? null;
}

/** The expected result: filter, latestOnly, then sort by the orderBy keys (missing last), name asc, version desc. */
function bruteForce(all: ModelVersion[], q: QuerySpec): ModelVersion[] {
  let out = all.filter((v) => (q.includeDeleted || v.state === 'ready') && q.conditions.every((c) => holds(v, c)));
  if (q.latestOnly) {
    const top = new Map<string, ModelVersion>();
    for (const v of out) if (!top.has(v.name) || top.get(v.name)!.version < v.version) top.set(v.name, v);
    out = [...top.values()];
  }
  const order = q.orderBy.length > 0 ? q.orderBy : [{ field: 'createdAt', direction: 'desc' as const }];
  return out.sort((a, b) => {
    for (const o of order) {
      const x = sortKey(a, o.field);
      const y = sortKey(b, o.field);
      if (x === y) continue;
      if (x === null) return 1;
      if (y === null) return -1;
      const c = x < y ? -1 : 1;
      return (o.direction ?? 'desc') === 'desc' ? -c : c;
    }
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return b.version - a.version;
  });
}

t.test('property: search (all pages) equals a brute-force filter and sort over getVersion results', async (t) => {
  const blobsDir = join(scratch(t), 'blobs');
  const manifest = Buffer.from((await readFile(join(examplePackage, 'genome.json'), 'utf8')).replace(/"\$schema": "[^"]*",/, ''));
  const model = await readFile(join(examplePackage, 'model.onnx'));
  const background = await readFile(join(examplePackage, 'background.csv'));
  const files: StoredFile[] = [
    { path: 'background.csv', sha256: sha256(background), size: background.byteLength },
    { path: 'genome.json', sha256: sha256(manifest), size: manifest.byteLength },
    { path: 'model.onnx', sha256: sha256(model), size: model.byteLength },
  ];
  {
    const seed = await openModelStore({ metadata: 'memory:', blobs: blobsDir, dir: scratch(t) });
    for (const b of [manifest, model, background]) await seed.putBlob(b);
    await seed.close();
  }
  let runs = 0;
  let nonEmpty = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(versionSpec, { minLength: 1, maxLength: 14 }), fc.array(querySpec, { minLength: 1, maxLength: 6 }), async (specs, queries) => {
      const store = await openModelStore({ metadata: 'memory:', blobs: blobsDir, dir: scratch(t) });
      try {
        for (const s of specs) {
          const v = await store.createVersion(files, {
            canonicalName: s.name,
            tags: s.tags,
            metrics: s.metrics,
            aliases: s.aliases,
            ...(s.application !== undefined ? { application: s.application } : {}),
            ...(s.createdBy !== undefined ? { createdBy: s.createdBy } : {}),
          });
          if (s.then === 1) await store.deleteVersion(`${v.name}/${v.version}`);
          else if (s.then === 2) await store.updateVersion(`${v.name}/${v.version}`, { setTags: { team: s.thenTag }, setMetrics: { loss: s.thenMetric }, deleteMetrics: ['auc'] });
          else if (s.then === 3) await store.setAlias(v.name, s.thenAlias, v.version);
        }
        // Every version as getVersion gives it (ready and deleted).
        const all: ModelVersion[] = [];
        for (const m of (await store.listModels({ pageSize: 1000 })).models) {
          for (let n = 1; n <= m.latestVersion; n++) all.push(await store.getVersion(`${m.name}/${n}`, { includeDeleted: true }));
        }
        const times = [...new Set(all.flatMap((v) => [v.createdAt, v.updatedAt]))].sort();
        for (const q0 of queries) {
          const q: QuerySpec = {
            ...q0,
            conditions: q0.conditions.map((c) => (c.field === 'createdAt' || c.field === 'updatedAt' ? { ...c, value: times[(c.value as number) % times.length]! } : c)),
          };
          const split = Math.max(0, q.conditions.length - q.asText);
          const where = q.conditions.slice(0, split);
          const text = q.conditions.slice(split);
          const query: SearchQuery = {
            ...(where.length > 0 ? { where } : {}),
            ...(text.length > 0 ? { filter: formatFilter(text) } : {}),
            ...(q.orderBy.length > 0 ? { orderBy: q.orderBy } : {}),
            ...(q.latestOnly ? { latestOnly: true } : {}),
            ...(q.includeDeleted ? { includeDeleted: true } : {}),
          };
          const got = await searchAll(store, query, q.pageSize);
          const want = bruteForce(all, q);
          runs++;
          if (want.length > 0) nonEmpty++;
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`search ${JSON.stringify(query)} pageSize ${q.pageSize}\n got: ${ids(got).join(' ')}\nwant: ${ids(want).join(' ')}`);
          }
        }
      } finally {
        await store.close();
      }
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 100), seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
  t.ok(runs >= 100, `${runs} queries compared`);
  t.ok(nonEmpty > runs / 4, `${nonEmpty} of them with matches (the generators hit real data)`);
});
