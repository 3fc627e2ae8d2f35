/**
 * Run records in a key-value backend that survives restarts and is shared by replicas: SQLite by default, PostgreSQL
 * or Redis, through @genome/model-store's `openKv` (keyv underneath). That module is reused rather than a second
 * keyv wrapper because its backends add what plain keyv lacks and the sequencer needs: an atomic put-if-absent on
 * every backend (run ids and, later, schedule leases must be claimed once across replicas), SQLite busy timeouts,
 * and error mapping, all tested by the model store's contract tests. Steps need the store anyway.
 *
 * Keys (in the backend's namespace, default `genome-sequencer`):
 * - `run/<runId>`: the run's record as JSON; created with put-if-absent (so an id is never taken twice);
 * - `runs/seq/<n>`: the n-th run created (n = 1, 2, ...), its id; each slot claimed with put-if-absent;
 * - `runs/head`: a hint of the highest claimed slot (listing probes past it, so a stale hint only costs reads);
 * - `pipeline/<name>`, `pipelines/seq/<n>`, `pipelines/head`: scheduled pipelines, the same way (a deleted pipeline's
 *   record is removed; its index slot stays and is skipped).
 */
import { openKv, type KvBackend, type OpenKvOptions } from '@genome/model-store';
import { SequencerError } from '../errors.js';
import type { RunRecord, ScheduledPipelineRecord } from './records.js';
import { alreadyExists, checkLimit, decodeToken, encodeToken, matches, pipelineExists, type PipelineState, type RunFilter, type RunPage, type RunState } from './state.js';

/** The default key namespace of the sequencer's records. */
export const SEQUENCER_NAMESPACE = 'genome-sequencer';

/** The few operations used from a model-store {@link KvBackend}. */
export type RunKv = Pick<KvBackend, 'get' | 'getMany' | 'putIfAbsent' | 'set' | 'delete' | 'close'>;

const BATCH = 100;

export class KvRunState implements RunState, PipelineState {
  constructor(
    readonly kv: RunKv,
    private readonly ownsKv = true,
  ) {}

  /**
   * Opens run records at `url`: `sqlite:///abs/path.sqlite`, `sqlite://relative.sqlite`, `postgres://...`,
   * `redis://...`, `memory:` (see @genome/model-store's KV_URL_FORMS). Namespace default `genome-sequencer`.
   */
  static async open(url: string, options: OpenKvOptions = {}): Promise<KvRunState> {
    try {
      return new KvRunState(await openKv(url, { namespace: SEQUENCER_NAMESPACE, ...options }));
    } catch (e) {
      throw fromStore(e, `open the run state at ${url}`);
    }
  }

  async create(run: RunRecord): Promise<void> {
    const ok = await this.call('create a run', () => this.kv.putIfAbsent(`run/${run.runId}`, JSON.stringify(run)));
    if (!ok) throw alreadyExists(run.runId);
    await this.append('runs', run.runId);
  }

  /** Claims the next slot of the index `kind` for `id`. */
  private async append(kind: 'runs' | 'pipelines', id: string): Promise<void> {
    let n = (await this.head(kind)) + 1;
    for (;;) {
      if (await this.call(`index ${kind}`, () => this.kv.putIfAbsent(`${kind}/seq/${n}`, id))) break;
      n++;
    }
    await this.call(`index ${kind}`, () => this.kv.set(`${kind}/head`, String(n)));
  }

  /** The highest claimed slot of the index `kind`, probing past the hint. */
  private async top(kind: 'runs' | 'pipelines'): Promise<number> {
    let top = await this.head(kind);
    for (;;) {
      const keys = Array.from({ length: 16 }, (_, i) => `${kind}/seq/${top + 1 + i}`);
      const found = await this.call(`list ${kind}`, () => this.kv.getMany(keys));
      const firstGap = found.findIndex((v) => v === undefined);
      top += firstGap === -1 ? found.length : firstGap;
      if (firstGap !== -1) return top;
    }
  }

  async createPipeline(p: ScheduledPipelineRecord): Promise<void> {
    const ok = await this.call('create a pipeline', () => this.kv.putIfAbsent(`pipeline/${p.pipelineName}`, JSON.stringify(p)));
    if (!ok) throw pipelineExists(p.pipelineName);
    await this.append('pipelines', p.pipelineName);
  }

  async putPipeline(p: ScheduledPipelineRecord): Promise<void> {
    await this.call('record a pipeline', () => this.kv.set(`pipeline/${p.pipelineName}`, JSON.stringify(p)));
  }

  async getPipeline(name: string): Promise<ScheduledPipelineRecord | undefined> {
    const text = await this.call('read a pipeline', () => this.kv.get(`pipeline/${name}`));
    return text === undefined ? undefined : (parse(text, name) as unknown as ScheduledPipelineRecord);
  }

  async listPipelines(): Promise<ScheduledPipelineRecord[]> {
    const top = await this.top('pipelines');
    const out: ScheduledPipelineRecord[] = [];
    const seen = new Set<string>();
    for (let lo = 1; lo <= top; lo += BATCH) {
      const slots = Array.from({ length: Math.min(BATCH, top - lo + 1) }, (_, i) => `pipelines/seq/${lo + i}`);
      const names = (await this.call('list pipelines', () => this.kv.getMany(slots))).filter((x): x is string => x !== undefined && !seen.has(x));
      names.forEach((n) => seen.add(n));
      if (names.length === 0) continue;
      const texts = await this.call('list pipelines', () => this.kv.getMany(names.map((n) => `pipeline/${n}`)));
      texts.forEach((text, i) => {
        if (text !== undefined) out.push(parse(text, names[i]!) as unknown as ScheduledPipelineRecord);
      });
    }
    return out;
  }

  async deletePipeline(name: string): Promise<boolean> {
    return this.call('delete a pipeline', () => this.kv.delete(`pipeline/${name}`));
  }

  async put(run: RunRecord): Promise<void> {
    await this.call('record a run', () => this.kv.set(`run/${run.runId}`, JSON.stringify(run)));
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const text = await this.call('read a run', () => this.kv.get(`run/${runId}`));
    return text === undefined ? undefined : parse(text, runId);
  }

  async page(filter: RunFilter = {}): Promise<RunPage> {
    const limit = checkLimit(filter.limit);
    // Runs are listed down their index slots; a page token is the slot to continue below.
    const below =
      filter.pageToken === undefined
        ? undefined
        : decodeToken(filter.pageToken, (x): x is { s: number } => Number.isSafeInteger((x as { s?: unknown })?.s) && (x as { s: number }).s >= 1).s;
    // The hint may lag behind other writers: top() probes forward.
    const top = below === undefined ? await this.top('runs') : below - 1;
    const runs: RunRecord[] = [];
    let lastSlot = 0;
    for (let hi = top; hi >= 1 && runs.length < limit; hi -= BATCH) {
      const lo = Math.max(1, hi - BATCH + 1);
      const slotNumbers = Array.from({ length: hi - lo + 1 }, (_, i) => hi - i);
      const found = await this.call('list runs', () => this.kv.getMany(slotNumbers.map((n) => `runs/seq/${n}`)));
      const at = found.flatMap((id, i) => (id === undefined ? [] : [{ id, slot: slotNumbers[i]! }]));
      if (at.length === 0) continue;
      const texts = await this.call('list runs', () => this.kv.getMany(at.map((x) => `run/${x.id}`)));
      for (let i = 0; i < texts.length && runs.length < limit; i++) {
        const text = texts[i];
        if (text === undefined) continue;
        const run = parse(text, at[i]!.id);
        if (matches(run, filter)) {
          runs.push(run);
          lastSlot = at[i]!.slot;
        }
      }
    }
    return runs.length === limit && lastSlot > 1 ? { runs, nextPageToken: encodeToken({ s: lastSlot }) } : { runs };
  }

  async list(filter: RunFilter = {}): Promise<RunRecord[]> {
    return (await this.page(filter)).runs;
  }

  async close(): Promise<void> {
    if (this.ownsKv) await this.kv.close();
  }

  private async head(kind: 'runs' | 'pipelines'): Promise<number> {
    const h = await this.call(`list ${kind}`, () => this.kv.get(`${kind}/head`));
    const n = Number(h ?? '0');
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw fromStore(e, doing);
    }
  }
}

function parse(text: string, id: string): RunRecord {
  try {
    return JSON.parse(text) as RunRecord;
  } catch (e) {
    throw new SequencerError('INTERNAL', `the record of ${id} is not valid JSON; the state store was changed by something else`, { cause: e });
  }
}

/** Maps a model-store error to the sequencer's codes, keeping its message (which says how to fix it). */
function fromStore(e: unknown, doing: string): SequencerError {
  if (e instanceof SequencerError) return e;
  const code = (e as { code?: string }).code;
  const mapped =
    code === 'INVALID_ARGUMENT' ? 'INVALID_ARGUMENT' : code === 'MISSING_DEPENDENCY' ? 'MISSING_DEPENDENCY' : code === 'FAILED_PRECONDITION' ? 'FAILED_PRECONDITION' : 'UNAVAILABLE';
  return new SequencerError(mapped, `could not ${doing}: ${(e as Error).message}`, { cause: e });
}
