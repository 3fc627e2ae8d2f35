/**
 * Store events from log entries. Entries are self-contained, so the events of an entry depend on nothing else:
 * any reader can produce them for any part of the log, in the same order.
 */
import type { StoreEvent } from '../types.js';
import type { LogEntry } from './entries.js';

/** The events of log entry `seq` (a save that moved aliases gives `version-created` then one `alias-set` each). */
export function entryEvents(seq: number, entry: LogEntry): StoreEvent[] {
  const at = entry.at;
  switch (entry.t) {
    case 'create':
      return [
        { seq, type: 'version-created', name: entry.name, version: entry.version, at },
        ...entry.aliases.map((a): StoreEvent => ({
          seq,
          type: 'alias-set',
          name: entry.name,
          alias: a.alias,
          version: entry.version,
          ...(a.previous !== undefined ? { previous: a.previous } : {}),
          at,
        })),
      ];
    case 'update':
      return [{ seq, type: 'version-updated', name: entry.name, version: entry.version, at }];
    case 'delete':
      return [
        { seq, type: 'version-deleted', name: entry.name, version: entry.version, at },
        ...entry.aliases.map((alias): StoreEvent => ({ seq, type: 'alias-deleted', name: entry.name, alias, previous: entry.version, at })),
      ];
    case 'restore':
      return [{ seq, type: 'version-restored', name: entry.name, version: entry.version, at }];
    case 'purge':
      return [{ seq, type: 'version-purged', name: entry.name, version: entry.version, at }];
    case 'alias-set':
      return [
        {
          seq,
          type: 'alias-set',
          name: entry.name,
          alias: entry.alias,
          version: entry.version,
          ...(entry.previous !== undefined ? { previous: entry.previous } : {}),
          at,
        },
      ];
    case 'alias-delete':
      return [{ seq, type: 'alias-deleted', name: entry.name, alias: entry.alias, previous: entry.previous, at }];
    case 'lineage':
      return [{ seq, type: 'lineage-recorded', runId: entry.runId, at }];
  }
}
