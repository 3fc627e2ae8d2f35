/**
 * The fake API server's storage: objects by resource, one global resourceVersion counter (like etcd's revision),
 * and the event history that watches replay from a resourceVersion. `compact()` drops the history, so a watch from
 * an older resourceVersion gets 410 Gone, as after an etcd compaction.
 */
import { randomUUID } from 'node:crypto';

// The fake stores plain JSON objects; `any` keeps the simulated controllers short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistoryEntry {
  rv: number;
  plural: string;
  type: EventType;
  /** The object after the change (for DELETED: the object as deleted, with the deletion's resourceVersion). */
  object: Obj;
  /** The object before the change (MODIFIED, DELETED). */
  previous?: Obj;
}

export type ChangeListener = (e: HistoryEntry) => void;

export function clone<T>(o: T): T {
  return structuredClone(o);
}

/** RFC 3339 with seconds, as the API server writes metav1.Time. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function key(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Store {
  /** The last resourceVersion handed out. Starts high like a real cluster's. */
  rv = 1000;
  /** Watches from a resourceVersion below this answer 410 Gone. */
  compactedRv = 1000;
  readonly history: HistoryEntry[] = [];
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly historyLimit = 10_000) {}

  onChange(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Drops the whole event history: every watch from an earlier resourceVersion now gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  private table(plural: string): Map<string, Obj> {
    let t = this.objects.get(plural);
    if (!t) {
      t = new Map();
      this.objects.set(plural, t);
    }
    return t;
  }

  get(plural: string, ns: string | undefined, name: string): Obj | undefined {
    const o = this.table(plural).get(key(ns, name));
    return o && clone(o);
  }

  list(plural: string, ns?: string): Obj[] {
    const out: Obj[] = [];
    for (const o of this.table(plural).values()) {
      if (ns === undefined || o.metadata.namespace === ns) out.push(clone(o));
    }
    return out.sort((a, b) => (key(a.metadata.namespace, a.metadata.name) < key(b.metadata.namespace, b.metadata.name) ? -1 : 1));
  }

  /** Stores a new object: uid, creationTimestamp, resourceVersion and generation are set here. */
  create(plural: string, obj: Obj): Obj {
    const o = clone(obj);
    const k = key(o.metadata.namespace, o.metadata.name);
    if (this.table(plural).has(k)) throw new Error(`exists: ${plural} ${k}`);
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= now();
    o.metadata.generation ??= 1;
    o.metadata.resourceVersion = String(++this.rv);
    this.table(plural).set(k, o);
    this.record({ rv: this.rv, plural, type: 'ADDED', object: clone(o) });
    return clone(o);
  }

  /** Applies `fn` to the stored object (a copy) and stores the result with a new resourceVersion. */
  mutate(plural: string, ns: string | undefined, name: string, fn: (o: Obj) => void): Obj | undefined {
    const k = key(ns, name);
    const prev = this.table(plural).get(k);
    if (!prev) return undefined;
    const o = clone(prev);
    fn(o);
    if (JSON.stringify(o) === JSON.stringify(prev)) return clone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    this.table(plural).set(k, o);
    this.record({ rv: this.rv, plural, type: 'MODIFIED', object: clone(o), previous: clone(prev) });
    return clone(o);
  }

  remove(plural: string, ns: string | undefined, name: string): Obj | undefined {
    const k = key(ns, name);
    const prev = this.table(plural).get(k);
    if (!prev) return undefined;
    this.table(plural).delete(k);
    const o = clone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, plural, type: 'DELETED', object: clone(o), previous: clone(prev) });
    return o;
  }

  private record(e: HistoryEntry): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const l of this.listeners) l(e);
  }
}
