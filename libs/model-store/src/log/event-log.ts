/**
 * {@link EventLog}: the store's append-only log on a {@link KvBackend}, and the in-memory state it replays into.
 *
 * Keys (under the backend's namespace): `log:<seq>` for seq = 1, 2, 3, ... without gaps; `snapshot:<seq>` (+ its
 * parts) and `snapshot:latest`; `head`, a hint of the last seq (set plainly after appends, may lag).
 *
 * - Catch-up reads `log:<n+1>`, `log:<n+2>`, ... in `getMany` batches until one is missing, applying each entry.
 * - Append catches up, lets the caller validate its write against the now-current state and build the entry, then
 *   `putIfAbsent('log:<n+1>', entry)`. When another writer took n+1 first, it catches up again and retries (bounded,
 *   with jittered backoff). The put-if-absent of the next sequence number is the compare-and-set: no two writers can
 *   commit the same seq, so no write is lost and no two saves get the same version. Entries stay contiguous because a
 *   writer only writes n+1 after reading n.
 * - After applying an entry whose seq is a multiple of `snapshotEvery`, the state is snapshotted (deterministic text,
 *   written put-if-absent) and `snapshot:latest` moved forward, unless the catch-up that read the entry also found the
 *   snapshot's header (another instance wrote it); a new instance loads the newest snapshot (`snapshot:latest`, or a
 *   newer one found from the `head` hint) and replays the tail only.
 */
import { ModelStoreError } from '../errors.js';
import type { KvBackend } from '../kv/kv-backend.js';
import { describeError } from '../kv/keyv-backend.js';
import type { StoreEvent } from '../types.js';
import { StoreState } from '../state/state.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_PART_CHARS, snapshotText, splitText, stateFromSnapshot, textSha256, type SnapshotHeader } from '../state/snapshot.js';
import { decodeEntry, encodeEntry, makeEntry, type EntryBody, type LogEntry } from './entries.js';
import { entryEvents } from './events.js';

/** Options of {@link EventLog}. */
export interface EventLogOptions {
  /** Snapshot the state after every this many entries (default 1000; 0 disables snapshots). */
  snapshotEvery?: number;
  /** Attempts of an append that keeps losing the race for the next seq (default 64). */
  maxAppendAttempts?: number;
  /** Called with non-fatal problems (a snapshot that could not be read or written, skipped entries). */
  onWarning?: (message: string) => void;
}

/** Key of log entry `seq`. */
export function logKey(seq: number): string {
  return `log:${seq}`;
}

const RECENT_CAPACITY = 4096;
const MAX_BATCH = 1000;
const MIN_BATCH = 16;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What an append wrote. */
export interface Appended {
  seq: number;
  entry: LogEntry;
}

export class EventLog {
  state = new StoreState();
  /** Seq of the latest snapshot known to exist (or being written by this instance). */
  private knownSnapshotSeq = 0;
  /** During a catch-up batch: the snapshots among the batch's multiples of snapshotEvery that already exist. */
  private writtenSnapshots: Set<number> | undefined;
  /** Last applied entries, for events without a round trip. */
  private recent: Appended[] = [];
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private appendChain: Promise<unknown> = Promise.resolve();
  private readonly background = new Set<Promise<void>>();
  private headHint = 0;
  private headWriting = false;
  private headDirty = false;
  private readonly snapshotEvery: number;
  private readonly maxAttempts: number;
  private readonly warn: (message: string) => void;
  /** How the state was loaded when the log opened. */
  loadedFrom: { snapshotSeq: number; replayed: number } = { snapshotSeq: 0, replayed: 0 };

  private constructor(
    readonly kv: KvBackend,
    options: EventLogOptions,
  ) {
    this.snapshotEvery = options.snapshotEvery ?? 1000;
    this.maxAttempts = options.maxAppendAttempts ?? 64;
    this.warn = options.onWarning ?? (() => undefined);
    if (!(Number.isSafeInteger(this.snapshotEvery) && this.snapshotEvery >= 0)) {
      throw new ModelStoreError('INVALID_ARGUMENT', `snapshotEvery must be a non-negative integer (0 disables snapshots), got ${String(options.snapshotEvery)}.`);
    }
  }

  /**
   * Opens the log: loads the latest snapshot (if any), then replays the entries after it.
   *
   * `snapshot:latest` is a plain key moved forward by whoever finished a snapshot, so it may lag: a writer killed
   * between writing a snapshot and moving it, or two writers moving it at once (the one that finished snapshot N-k
   * writing last), leave it on an older snapshot. When the `head` hint says newer snapshots may exist, their headers
   * (the multiples of `snapshotEvery` between the two, at most 16, highest first) are probed in one more round trip,
   * and the newest snapshot that loads is used.
   */
  static async open(kv: KvBackend, options: EventLogOptions = {}): Promise<EventLog> {
    const log = new EventLog(kv, options);
    const [latest, head] = await kv.getMany(['snapshot:latest', 'head']);
    log.headHint = Number(head) || 0;
    const named = Number(latest);
    const latestSeq = Number.isSafeInteger(named) && named > 0 ? named : 0;
    const candidates = [...(await log.newerSnapshots(latestSeq)), ...(latestSeq > 0 ? [latestSeq] : [])];
    for (const seq of candidates) {
      try {
        log.state = await log.loadSnapshot(seq);
        log.knownSnapshotSeq = seq;
        break;
      } catch (err) {
        if (!(err instanceof ModelStoreError) || err.code !== 'CORRUPT') throw err;
        log.warn(`Snapshot ${seq} was ignored (${err.message}); ${seq === candidates.at(-1) ? 'replaying the whole log instead' : 'trying an older one'}.`);
        log.state = new StoreState();
      }
    }
    log.loadedFrom.snapshotSeq = log.state.seq;
    await log.catchUp();
    log.loadedFrom.replayed = log.state.seq - log.loadedFrom.snapshotSeq;
    return log;
  }

  /** Seqs above `after` whose snapshot header exists, highest first: multiples of `snapshotEvery` up to the head hint. */
  private async newerSnapshots(after: number): Promise<number[]> {
    if (this.snapshotEvery === 0) return [];
    const seqs: number[] = [];
    for (let s = Math.floor(this.headHint / this.snapshotEvery) * this.snapshotEvery; s > after && seqs.length < 16; s -= this.snapshotEvery) seqs.push(s);
    if (seqs.length === 0) return [];
    const headers = await this.kv.getMany(seqs.map((s) => `snapshot:${s}`));
    return seqs.filter((_, i) => headers[i] !== undefined);
  }

  /** Last applied seq. */
  get seq(): number {
    return this.state.seq;
  }

  /**
   * Applies every entry appended by anyone since the last catch-up. Concurrent callers share work, but a caller
   * always waits for a catch-up that started after its call, so a write that completed before the call is seen.
   */
  catchUp(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.doCatchUp().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.catchUp();
      });
    this.queued = queued;
    return queued;
  }

  private async doCatchUp(): Promise<void> {
    let batch = Math.min(MAX_BATCH, Math.max(MIN_BATCH, this.headHint - this.state.seq));
    for (;;) {
      const from = this.state.seq + 1;
      const keys: string[] = new Array<string>(batch);
      for (let i = 0; i < batch; i++) keys[i] = logKey(from + i);
      // The headers of the snapshots this batch may reach, in the same round trip: a snapshot another instance has
      // already written is not computed (a synchronous serialization of the whole state) nor written again.
      const snapshotSeqs: number[] = [];
      if (this.snapshotEvery > 0) {
        for (let s = Math.ceil(from / this.snapshotEvery) * this.snapshotEvery; s < from + batch; s += this.snapshotEvery) {
          if (s > this.knownSnapshotSeq) snapshotSeqs.push(s);
        }
      }
      const values = await this.kv.getMany(snapshotSeqs.length > 0 ? [...keys, ...snapshotSeqs.map((s) => `snapshot:${s}`)] : keys);
      this.writtenSnapshots = new Set(snapshotSeqs.filter((_, j) => values[batch + j] !== undefined));
      let complete = true;
      try {
        for (let i = 0; i < batch; i++) {
          const text = values[i];
          if (text === undefined) {
            complete = false;
            break;
          }
          const seq = from + i;
          if (seq <= this.state.seq) continue; // applied meanwhile (our own append)
          this.applyText(seq, text);
        }
      } finally {
        this.writtenSnapshots = undefined;
      }
      if (!complete) return;
      batch = Math.min(MAX_BATCH, batch * 4);
    }
  }

  private applyText(seq: number, text: string): void {
    const read = decodeEntry(text, seq);
    if ('skip' in read) {
      this.state.skip(seq);
      this.warn(`Log entry ${seq} was skipped: it has ${read.skip}, written by a newer version of @genome/model-store; upgrade this one.`);
    } else {
      this.applyEntry(seq, read.entry);
    }
  }

  private applyEntry(seq: number, entry: LogEntry): void {
    this.state.apply(seq, entry);
    this.recent.push({ seq, entry });
    if (this.recent.length > 2 * RECENT_CAPACITY) this.recent = this.recent.slice(-RECENT_CAPACITY);
    if (this.snapshotEvery > 0 && seq % this.snapshotEvery === 0 && seq > this.knownSnapshotSeq) {
      this.knownSnapshotSeq = seq;
      if (this.writtenSnapshots?.has(seq)) return; // another instance wrote it
      const text = snapshotText(this.state);
      this.track(this.writeSnapshot(seq, text));
    }
  }

  /**
   * Appends one entry. `build` runs on the caught-up state: it validates the write (throwing to refuse it) and returns
   * the entry, or null when the write changes nothing. `after` runs right after the entry is applied, on the state
   * that includes it. Appends of one instance run one at a time.
   */
  append<T>(build: (state: StoreState) => EntryBody | null, after: (state: StoreState, appended: Appended) => T): Promise<T | null> {
    const run = async (): Promise<T | null> => {
      for (let attempt = 1; ; attempt++) {
        await this.catchUp();
        const body = build(this.state);
        if (body === null) return null;
        const entry = makeEntry(body);
        const text = encodeEntry(entry);
        const seq = this.state.seq + 1;
        let stored: boolean;
        try {
          stored = await this.kv.putIfAbsent(logKey(seq), text);
        } catch (err) {
          // The insert may have happened with its acknowledgement lost: our entry (unique id) tells.
          const there = await this.kv.get(logKey(seq)).catch(() => undefined);
          if (there !== text) throw err;
          stored = true;
        }
        if (stored) {
          if (this.state.seq === seq - 1) this.applyEntry(seq, entry);
          this.writeHead(seq);
          return after(this.state, { seq, entry });
        }
        if (attempt >= this.maxAttempts) {
          throw new ModelStoreError(
            'UNAVAILABLE',
            `Too much contention on ${this.kv.location}: ${attempt} attempts to append to the log lost the race to other writers; retry later.`,
          );
        }
        if (attempt > 2) await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    };
    const result = this.appendChain.then(run, run);
    this.appendChain = result.catch(() => undefined);
    return result;
  }

  /** Sets the `head` hint to `seq` in the background (one write in flight at a time). */
  private writeHead(seq: number): void {
    if (seq > this.headHint) this.headHint = seq;
    if (this.headWriting) {
      this.headDirty = true;
      return;
    }
    this.headWriting = true;
    const write = async (): Promise<void> => {
      try {
        do {
          this.headDirty = false;
          await this.kv.set('head', String(this.headHint));
        } while (this.headDirty);
      } catch {
        // A hint: a failed write only makes the next opening read a few more batches.
      } finally {
        this.headWriting = false;
      }
    };
    this.track(write());
  }

  private track(p: Promise<void>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private async writeSnapshot(seq: number, text: string): Promise<void> {
    try {
      const header: SnapshotHeader = { format: SNAPSHOT_FORMAT, seq, chars: text.length, sha256: textSha256(text), parts: 0 };
      if (text.length <= SNAPSHOT_PART_CHARS) {
        header.data = text;
      } else {
        const parts = splitText(text);
        header.parts = parts.length;
        for (let i = 0; i < parts.length; i++) await this.kv.set(`snapshot:${seq}:${i}`, parts[i]!);
      }
      await this.kv.putIfAbsent(`snapshot:${seq}`, JSON.stringify(header));
      const latest = Number(await this.kv.get('snapshot:latest'));
      if (!(latest >= seq)) await this.kv.set('snapshot:latest', String(seq));
    } catch (err) {
      this.warn(`Snapshot ${seq} could not be written (${describeError(err)}); the next one will be tried after ${this.snapshotEvery} more entries.`);
    }
  }

  private async loadSnapshot(seq: number): Promise<StoreState> {
    const where = `Snapshot ${seq}`;
    const headerText = await this.kv.get(`snapshot:${seq}`);
    if (headerText === undefined) throw new ModelStoreError('CORRUPT', `${where} is named by snapshot:latest but absent`);
    let header: SnapshotHeader;
    try {
      header = JSON.parse(headerText) as SnapshotHeader;
    } catch (err) {
      throw new ModelStoreError('CORRUPT', `${where} has an unreadable header`, { cause: err });
    }
    if (header.format !== SNAPSHOT_FORMAT || header.seq !== seq || !Number.isSafeInteger(header.parts) || header.parts < 0) {
      throw new ModelStoreError('CORRUPT', `${where} has an invalid header`);
    }
    let text: string;
    if (header.parts === 0) {
      if (typeof header.data !== 'string') throw new ModelStoreError('CORRUPT', `${where} has no data`);
      text = header.data;
    } else {
      const keys = Array.from({ length: header.parts }, (_, i) => `snapshot:${seq}:${i}`);
      const parts = await this.kv.getMany(keys);
      const missing = parts.findIndex((p) => p === undefined);
      if (missing >= 0) throw new ModelStoreError('CORRUPT', `${where} lacks part ${missing}`);
      text = parts.join('');
    }
    if (text.length !== header.chars || textSha256(text) !== header.sha256) throw new ModelStoreError('CORRUPT', `${where} does not match its SHA-256`);
    const state = stateFromSnapshot(text, where);
    if (state.seq !== seq) throw new ModelStoreError('CORRUPT', `${where} holds the state after entry ${state.seq}`);
    return state;
  }

  /**
   * The events of entries after `sinceSeq`, at most `limit` entries' worth, in log order, and the seq of the last
   * entry covered (pass it as the next `sinceSeq`).
   */
  async events(sinceSeq: number, limit = 1000): Promise<{ events: StoreEvent[]; lastSeq: number }> {
    await this.catchUp();
    const end = Math.min(this.state.seq, sinceSeq + limit);
    if (end <= sinceSeq) return { events: [], lastSeq: sinceSeq };
    const events: StoreEvent[] = [];
    const first = this.recent[0]?.seq;
    if (first !== undefined && first <= sinceSeq + 1) {
      for (const { seq, entry } of this.recent) if (seq > sinceSeq && seq <= end) events.push(...entryEvents(seq, entry));
      return { events, lastSeq: end };
    }
    for (let from = sinceSeq + 1; from <= end; from += MAX_BATCH) {
      const to = Math.min(end, from + MAX_BATCH - 1);
      const keys = Array.from({ length: to - from + 1 }, (_, i) => logKey(from + i));
      const values = await this.kv.getMany(keys);
      values.forEach((text, i) => {
        const seq = from + i;
        if (text === undefined) throw new ModelStoreError('CORRUPT', `Log entry ${seq} disappeared after it was applied; the log must never be edited.`);
        const read = decodeEntry(text, seq);
        if ('entry' in read) events.push(...entryEvents(seq, read.entry));
      });
    }
    return { events, lastSeq: end };
  }

  /** Waits for background writes (head hint, snapshots). */
  async flush(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Waits for appends in flight and background writes. */
  async close(): Promise<void> {
    await this.appendChain;
    await this.flush();
  }
}
