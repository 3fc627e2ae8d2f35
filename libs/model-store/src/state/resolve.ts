/**
 * Resolving references against the state, with NOT_FOUND messages that list what exists when it is short
 * (`model "fraud" has versions 1-4 (2 deleted); aliases: production→3`).
 */
import { ModelStoreError } from '../errors.js';
import { formatRef, type ParsedRef } from '../refs.js';
import type { ModelRecord, VersionRecord } from './records.js';
import type { StoreState } from './state.js';

/** `1-4, 6, 9-10` for sorted numbers. */
export function ranges(numbers: readonly number[], maxRanges = 12): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(i === j ? `${numbers[i]}` : `${numbers[i]}-${numbers[j]}`);
    i = j + 1;
  }
  if (parts.length > maxRanges) return `${parts.slice(0, maxRanges).join(', ')}, ...`;
  return parts.join(', ');
}

/** What a model holds, for messages. */
export function describeModel(m: ModelRecord): string {
  const numbers = [...m.versions.keys()].sort((a, b) => a - b);
  const deleted = numbers.filter((n) => m.versions.get(n)!.state === 'deleted');
  let text =
    numbers.length === 0
      ? `model "${m.name}" has no versions left (versions 1-${m.maxVersion} were purged)`
      : `model "${m.name}" has version${numbers.length === 1 ? '' : 's'} ${ranges(numbers)}`;
  if (deleted.length > 0) text += ` (deleted: ${ranges(deleted)})`;
  const aliases = [...m.aliases.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (aliases.length > 0) {
    const shown = aliases.slice(0, 10).map(([a, v]) => `${a}→${v}`);
    text += `; aliases: ${shown.join(', ')}${aliases.length > 10 ? `, ... (${aliases.length})` : ''}`;
  } else {
    text += '; no aliases';
  }
  return text;
}

/** The model called `name`, or NOT_FOUND listing the models when there are few. */
export function requireModel(state: StoreState, name: string): ModelRecord {
  const m = state.models.get(name);
  if (m) return m;
  const names = state.names();
  let known: string;
  if (names.length === 0) known = 'the store holds no models yet';
  else if (names.length <= 10) known = `models: ${names.join(', ')}`;
  else {
    const lower = name.toLowerCase();
    const close = names.filter((n) => n.toLowerCase().includes(lower) || lower.includes(n.toLowerCase())).slice(0, 5);
    known = `${names.length} models${close.length > 0 ? `; similar: ${close.join(', ')}` : ''}`;
  }
  throw new ModelStoreError('NOT_FOUND', `No model "${name}" (${known}).`);
}

/**
 * The version a reference names. `includeDeleted` lets `name/3` name a soft-deleted version (aliases and `name`
 * only ever name ready versions).
 */
export function resolveRef(state: StoreState, ref: ParsedRef, includeDeleted = false): VersionRecord {
  const m = requireModel(state, ref.name);
  switch (ref.kind) {
    case 'version': {
      const v = m.versions.get(ref.version);
      if (!v) {
        const why = ref.version > m.maxVersion ? 'was never saved' : 'was purged';
        throw new ModelStoreError('NOT_FOUND', `Version ${formatRef(ref)} ${why}: ${describeModel(m)}.`);
      }
      if (v.state === 'deleted' && !includeDeleted) {
        throw new ModelStoreError('NOT_FOUND', `Version ${formatRef(ref)} is deleted (restore it with restoreVersion, or ask with includeDeleted): ${describeModel(m)}.`);
      }
      return v;
    }
    case 'alias': {
      const n = m.aliases.get(ref.alias);
      const v = n === undefined ? undefined : m.versions.get(n);
      if (!v) throw new ModelStoreError('NOT_FOUND', `No alias "${ref.alias}" on model "${ref.name}": ${describeModel(m)}.`);
      return v;
    }
    case 'latest': {
      let best: VersionRecord | undefined;
      // Newest first: usually the first step finds it.
      for (let n = m.maxVersion; n >= 1 && !best; n--) {
        const v = m.versions.get(n);
        if (v?.state === 'ready') best = v;
      }
      if (!best) throw new ModelStoreError('NOT_FOUND', `Model "${ref.name}" has no ready version: ${describeModel(m)}.`);
      return best;
    }
  }
}
