/**
 * A pool of worker threads for TreeSHAP over many rows. Create it once and reuse it: each worker receives a
 * model (and background) once, then only row slices (transferred) and results (transferred back).
 * Works from the built dist (loads `tree-worker.js`) and from TypeScript source under tsx (`tree-worker.ts`,
 * the worker inherits the parent's `--import=tsx` exec arguments).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker, type TreeEnsemble } from '@genome/model-format';
import { ShapError } from '../errors.js';
import { resolvePathAlgorithm, type PathAlgorithm } from '../tree/compute.js';
import { buildFastTables } from '../tree/fast-v2.js';
import { prepareEnsemble } from '../tree/prepared.js';
import {
  backgroundExpectation,
  checkRows,
  preparePathDependent,
  prepareBackground,
  probabilityLink,
  type InterventionalOptions,
  type PathDependentOptions,
  type TreeShapInteractionValues,
  type TreeShapValues,
} from '../tree/tree-shap.js';
import type { TreeTask, TreeTaskResult } from './protocol.js';

export interface TreeShapPoolOptions {
  /** Number of worker threads (default: available parallelism). */
  threads?: number;
  /** Rows per task; smaller tasks balance better, larger ones cost fewer messages (default: ceil(nRows / (4 * threads)), at least 8). */
  chunkRows?: number;
}

interface WorkerSlot {
  readonly worker: Worker;
  readonly models: Set<number>;
  readonly backgrounds: Set<number>;
  busy: boolean;
}

interface Pending {
  resolve(values: Float64Array): void;
  reject(err: Error): void;
}

let nextModelId = 1;
const modelIds = new WeakMap<TreeEnsemble, number>();
let nextBackgroundId = 1;
const backgroundIds = new WeakMap<Float64Array, number>();

export class TreeShapPool {
  readonly threads: number;
  private readonly slots: WorkerSlot[] = [];
  private readonly queue: { task: TreeTask; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTask = 1;
  private closed = false;
  private readonly chunkRows?: number;

  constructor(options: TreeShapPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new ShapError('INVALID_OPTION', `threads must be a positive integer, got ${threads}.`);
    this.threads = threads;
    this.chunkRows = options.chunkRows;
    const entry = siblingModule(import.meta.url, 'tree-worker');
    for (let i = 0; i < threads; i++) {
      const worker = startModuleWorker(entry);
      const slot: WorkerSlot = { worker, models: new Set(), backgrounds: new Set(), busy: false };
      worker.on('message', (msg: TreeTaskResult) => this.onMessage(slot, msg));
      worker.on('error', (err) => this.onError(slot, err));
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Path-dependent SHAP values (see {@link treeShapPathDependent}), rows split over the workers. */
  async pathDependent(model: TreeEnsemble, rows: Float64Array, nRows: number, options: PathDependentOptions = {}): Promise<TreeShapValues> {
    const prep = preparePathDependent(model);
    checkRows(model, rows, nRows);
    const algorithm = resolvePathAlgorithm(prep, options.algorithm ?? 'auto', nRows);
    if (algorithm === 'fast-v2') buildFastTables(prep); // validate here; workers build their own copy
    const values = await this.map('path', model, rows, nRows, prep.nFeatures * prep.nOutputs, { algorithm });
    return { values, expectedValue: Float64Array.from(prep.coverExpectation!), nRows, nFeatures: prep.nFeatures, nOutputs: prep.nOutputs, outputSpace: 'raw' };
  }

  /** Path-dependent interaction values, rows split over the workers. */
  async interactions(model: TreeEnsemble, rows: Float64Array, nRows: number): Promise<TreeShapInteractionValues> {
    const prep = preparePathDependent(model);
    checkRows(model, rows, nRows);
    const nF = prep.nFeatures;
    const values = await this.map('interactions', model, rows, nRows, nF * nF * prep.nOutputs, {});
    return { values, expectedValue: Float64Array.from(prep.coverExpectation!), nRows, nFeatures: nF, nOutputs: prep.nOutputs };
  }

  /** Interventional SHAP values against `background` (nBackground rows), rows split over the workers. */
  async interventional(
    model: TreeEnsemble,
    rows: Float64Array,
    nRows: number,
    background: Float64Array,
    nBackground: number,
    options: InterventionalOptions = {},
  ): Promise<TreeShapValues> {
    const prep = prepareEnsemble(model);
    checkRows(model, rows, nRows);
    const bg = prepareBackground(model, background, nBackground);
    const output = options.output ?? 'raw';
    const link = output === 'probability' ? probabilityLink(model) : 'identity';
    let bid = backgroundIds.get(background);
    if (bid === undefined) backgroundIds.set(background, (bid = nextBackgroundId++));
    const values = await this.map('interventional', model, rows, nRows, prep.nFeatures * prep.nOutputs, {
      backgroundId: bid,
      background,
      nBackground,
      link,
    });
    return { values, expectedValue: backgroundExpectation(model, bg, link), nRows, nFeatures: prep.nFeatures, nOutputs: prep.nOutputs, outputSpace: output };
  }

  /**
   * Forgets `model`: the pool and its workers drop their copies. Call it once no task of the model runs or waits
   * (e.g. after a served model was replaced and its calls drained); a later task of the same model sends it again.
   */
  release(model: TreeEnsemble): void {
    const id = modelIds.get(model);
    if (id === undefined || this.closed) return;
    if (this.queue.some((q) => q.task.modelId === id)) return; // still in use: keep it
    this.models.delete(id);
    for (const slot of this.slots) {
      if (!slot.models.delete(id) || (slot as WorkerSlot & { dead?: boolean }).dead) continue;
      slot.worker.postMessage({ release: id });
    }
  }

  /** Models the pool holds (sent to at least one worker and not released). */
  get heldModels(): number {
    return this.models.size;
  }

  /** Terminates the workers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new ShapError('INVALID_INPUT', 'TreeShapPool was closed while a task was running.');
    for (const p of this.pending.values()) p.reject(err);
    for (const q of this.queue) q.pending.reject(err);
    this.pending.clear();
    this.queue.length = 0;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private async map(
    kind: TreeTask['kind'],
    model: TreeEnsemble,
    rows: Float64Array,
    nRows: number,
    stride: number,
    extra: Partial<TreeTask>,
  ): Promise<Float64Array> {
    if (this.closed) throw new ShapError('INVALID_INPUT', 'TreeShapPool is closed; create a new pool.');
    let mid = modelIds.get(model);
    if (mid === undefined) modelIds.set(model, (mid = nextModelId++));
    const nF = model.nFeatures;
    const out = new Float64Array(nRows * stride);
    const chunk = this.chunkRows ?? Math.max(8, Math.ceil(nRows / (4 * this.threads)));
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < nRows; start += chunk) {
      const end = Math.min(nRows, start + chunk);
      const slice = rows.slice(start * nF, end * nF);
      const task = { id: 0, kind, modelId: mid, rows: slice, nRows: end - start, ...extra } as TreeTask;
      jobs.push(
        new Promise<Float64Array>((resolve, reject) => {
          this.queue.push({ task, pending: { resolve, reject } });
          this.pump(model);
        }).then((values) => out.set(values, start * stride)),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  private readonly models = new Map<number, TreeEnsemble>();

  private pump(model?: TreeEnsemble): void {
    if (model) {
      const id = modelIds.get(model)!;
      this.models.set(id, model);
    }
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const q = this.queue.shift();
      if (!q) return;
      const id = this.nextTask++;
      let task: TreeTask = { ...q.task, id };
      if (!slot.models.has(task.modelId)) {
        task = { ...task, model: this.models.get(task.modelId) };
        slot.models.add(task.modelId);
      }
      if (task.kind === 'interventional') {
        if (slot.backgrounds.has(task.backgroundId!)) task = { ...task, background: undefined };
        else slot.backgrounds.add(task.backgroundId!);
      }
      slot.busy = true;
      this.pending.set(id, q.pending);
      (slot as WorkerSlot & { current?: number }).current = id;
      slot.worker.ref();
      slot.worker.postMessage(task, [task.rows.buffer as ArrayBuffer]);
    }
  }

  private onMessage(slot: WorkerSlot, msg: TreeTaskResult): void {
    slot.busy = false;
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    if (this.pending.size === 0) for (const s of this.slots) s.worker.unref();
    if (p) {
      if (msg.ok) p.resolve(msg.values);
      else p.reject(new ShapError((msg.code as 'INVALID_INPUT') ?? 'INVALID_INPUT', msg.message));
    }
    this.pump();
  }

  private onError(slot: WorkerSlot, err: Error): void {
    const id = (slot as WorkerSlot & { current?: number }).current;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if (p && id !== undefined) {
      this.pending.delete(id);
      p.reject(new ShapError('INVALID_INPUT', `A TreeSHAP worker failed: ${err.message}`, { cause: err }));
    }
    slot.busy = true; // a crashed worker takes no more tasks
    (slot as WorkerSlot & { dead?: boolean }).dead = true;
    if (this.slots.every((s) => (s as WorkerSlot & { dead?: boolean }).dead)) {
      const e = new ShapError('INVALID_INPUT', `All TreeSHAP workers failed (last error: ${err.message}).`, { cause: err });
      for (const q of this.queue) q.pending.reject(e);
      this.queue.length = 0;
      for (const p2 of this.pending.values()) p2.reject(e);
      this.pending.clear();
    }
  }
}

/** Creates a reusable worker pool for TreeSHAP. Call `close()` when done (idle workers do not keep the process alive). */
export function createTreeShapPool(options: TreeShapPoolOptions = {}): TreeShapPool {
  return new TreeShapPool(options);
}
