/**
 * Runs a search on the in-memory state: picks the narrowest index for the candidates (a name, an alias, a tag value),
 * filters them by every condition, keeps the highest version per name when asked, and returns the page after the
 * token's sort key. Cursor pages stay stable when versions arrive between pages: a page continues strictly after the
 * last sort key of the previous one, whatever was inserted before it.
 */
import type { ModelVersion, SearchPage, SearchQuery } from '../types.js';
import { checkPageSize } from '../validate.js';
import { toModelVersion, type VersionRecord } from '../state/records.js';
import type { StoreState } from '../state/state.js';
import { tagKeyOf } from './fields.js';
import { compareTuples, compileQuery, decodePageToken, encodePageToken, sortTuple, type CompiledCondition, type KeyValue } from './query.js';

/** Candidate versions from the most selective indexed condition, or undefined when none is indexed. */
function indexedCandidates(state: StoreState, c: CompiledCondition): VersionRecord[] | undefined {
  const name = c.spec.name;
  if (name === 'name' && (c.op === '=' || c.op === 'in')) {
    const out: VersionRecord[] = [];
    for (const n of new Set(c.values as string[])) {
      const m = state.models.get(n);
      if (m) out.push(...m.versions.values());
    }
    return out;
  }
  if (name === 'name' && c.op === 'prefix') {
    const prefix = c.values[0] as string;
    const out: VersionRecord[] = [];
    const names = state.names();
    // Binary search for the first name >= prefix, then walk while the prefix holds.
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < names.length && names[i]!.startsWith(prefix); i++) out.push(...state.models.get(names[i]!)!.versions.values());
    return out;
  }
  if (name === 'alias' && (c.op === '=' || c.op === 'in')) {
    const wanted = new Set(c.values as string[]);
    const out = new Set<VersionRecord>();
    for (const m of state.models.values()) {
      for (const a of wanted) {
        const v = m.aliases.get(a);
        const rec = v === undefined ? undefined : m.versions.get(v);
        if (rec) out.add(rec);
      }
    }
    return [...out];
  }
  const tagKey = tagKeyOf(c.spec);
  if (tagKey !== undefined && (c.op === '=' || c.op === 'in')) {
    const byValue = state.tagIndex.get(tagKey);
    if (!byValue) return [];
    const out: VersionRecord[] = [];
    for (const value of new Set(c.values as string[])) {
      const set = byValue.get(value);
      if (set) out.push(...set);
    }
    return out;
  }
  return undefined;
}

/** Runs `query` on `state`. */
export function runSearch(state: StoreState, query: SearchQuery): SearchPage {
  const q = compileQuery(query);
  const pageSize = checkPageSize(query.pageSize);
  const after = query.pageToken ? decodePageToken(query.pageToken, q) : undefined;

  let candidates: Iterable<VersionRecord> | undefined;
  let best = Infinity;
  for (const c of q.conditions) {
    const list = indexedCandidates(state, c);
    if (list && list.length < best) {
      candidates = list;
      best = list.length;
    }
  }
  candidates ??= state.versions();

  let matches: VersionRecord[] = [];
  const conds = q.conditions;
  outer: for (const v of candidates) {
    if (!q.includeDeleted && v.state !== 'ready') continue;
    for (let i = 0; i < conds.length; i++) if (!conds[i]!.test(v)) continue outer;
    matches.push(v);
  }

  if (q.latestOnly) {
    const top = new Map<string, VersionRecord>();
    for (const v of matches) {
      const cur = top.get(v.name);
      if (!cur || v.version > cur.version) top.set(v.name, v);
    }
    matches = [...top.values()];
  }

  const order = q.order;
  let keyed: { v: VersionRecord; k: KeyValue[] }[] = matches.map((v) => ({ v, k: sortTuple(order, v) }));
  if (after) keyed = keyed.filter((x) => compareTuples(order, x.k, after) > 0);
  const page = selectSmallest(keyed, pageSize + 1, (a, b) => compareTuples(order, a.k, b.k));
  const more = page.length > pageSize;
  if (more) page.length = pageSize;
  const versions: ModelVersion[] = page.map((x) => toModelVersion(x.v));
  const out: SearchPage = { versions };
  if (more) out.nextPageToken = encodePageToken(q.digest, page[page.length - 1]!.k);
  return out;
}

/**
 * The `k` smallest items in ascending order. A full sort when k is a large share of the items, else a bounded
 * max-heap (O(n log k)), which keeps a page of 100 out of 10,000 matches cheap.
 */
export function selectSmallest<T>(items: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (items.length <= k * 4) return items.sort(cmp).slice(0, k);
  const heap: T[] = [];
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i]!, heap[p]!) <= 0) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l]!, heap[m]!) > 0) m = l;
      if (r < heap.length && cmp(heap[r]!, heap[m]!) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      up(heap.length - 1);
    } else if (cmp(item, heap[0]!) < 0) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort(cmp);
}
