/**
 * A pool of worker threads for TreeSHAP over many rows. Create it once and reuse it: a model is registered once
 * (its typed arrays moved to SharedArrayBuffers that every worker reads, and prepared and warmed up on every worker),
 * backgrounds are sent once per worker, then only row slices (transferred) and results (transferred back) cross.
 * Works from the built dist (loads `tree-worker.js`) and from TypeScript source under tsx (`tree-worker.ts`,
 * the worker inherits the parent's `--import=tsx` exec arguments).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker, type TreeEnsemble } from '@genome/model-format';
import { ShapError } from '../errors.js';
import { resolvePathAlgorithm, type PathAlgorithm } from '../tree/compute.js';
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
import type { TreeRegister, TreeRegistered, TreeTask, TreeTaskResult } from './protocol.js';

export interface TreeShapPoolOptions {
  /** Number of worker threads (default: available parallelism). */
  threads?: number;
  /**
   * Rows per task (default: each thread's share of a call split into tasks of at most 64 rows, the WebAssembly
   * kernel's batch, so no task runs a half-empty batch and every thread gets the same number of equal tasks).
   */
  chunkRows?: number;
}

/** Rows one traversal of the WebAssembly kernel explains (its SIMD lanes); tasks are sized in these. */
const KERNEL_BATCH_ROWS = 64;

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

interface WorkerSlot {
  readonly worker: Worker;
  readonly backgrounds: Set<number>;
  /** Registrations sent to this worker and not answered yet, by model id. */
  readonly registering: Map<number, Pending<void>[]>;
  busy: boolean;
  /** The task it runs. */
  current?: number;
  /** It failed and takes no more work. */
  dead: boolean;
}

interface Registration {
  readonly shared: TreeEnsemble;
  readonly interactions: boolean;
  readonly ready: Promise<void>;
}

let nextModelId = 1;
const modelIds = new WeakMap<TreeEnsemble, number>();
let nextBackgroundId = 1;
const backgroundIds = new WeakMap<Float64Array, number>();

/**
 * A copy of `model` whose typed arrays live on SharedArrayBuffers: posting it to a worker shares the memory instead
 * of copying it, so N workers hold one copy of the trees.
 */
function shareEnsemble(model: TreeEnsemble): TreeEnsemble {
  const copy: Record<string, unknown> = { ...model };
  for (const [key, value] of Object.entries(model)) {
    if (!ArrayBuffer.isView(value) || value instanceof DataView || value.buffer instanceof SharedArrayBuffer) continue;
    const src = value as unknown as Uint8Array;
    const Ctor = src.constructor as new (buffer: SharedArrayBuffer) => Uint8Array;
    const shared = new Ctor(new SharedArrayBuffer(src.byteLength));
    shared.set(src);
    copy[key] = shared;
  }
  return copy as unknown as TreeEnsemble;
}

/** Rows per task of a call: each thread's share in tasks of at most one kernel batch, even-sized (f64x2 lanes). */
function taskRows(nRows: number, threads: number): number {
  const perThread = Math.ceil(nRows / threads);
  const tasks = threads * Math.ceil(perThread / KERNEL_BATCH_ROWS);
  const rows = Math.ceil(nRows / tasks);
  return Math.max(2, rows + (rows & 1));
}

export class TreeShapPool {
  readonly threads: number;
  private readonly slots: WorkerSlot[] = [];
  private readonly queue: { task: TreeTask; pending: Pending<Float64Array> }[] = [];
  private readonly pending = new Map<number, Pending<Float64Array>>();
  private readonly registered = new Map<number, Registration>();
  private nextTask = 1;
  private closed = false;
  private readonly chunkRows?: number;

  constructor(options: TreeShapPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new ShapError('INVALID_OPTION', `threads must be a positive integer, got ${threads}.`);
    if (options.chunkRows !== undefined && !(Number.isInteger(options.chunkRows) && options.chunkRows >= 1)) {
      throw new ShapError('INVALID_OPTION', `chunkRows must be a positive integer, got ${options.chunkRows}.`);
    }
    this.threads = threads;
    this.chunkRows = options.chunkRows;
    const entry = siblingModule(import.meta.url, 'tree-worker');
    for (let i = 0; i < threads; i++) {
      const worker = startModuleWorker(entry);
      const slot: WorkerSlot = { worker, backgrounds: new Set(), registering: new Map(), busy: false, dead: false };
      worker.on('message', (msg: TreeTaskResult | TreeRegistered) => this.onMessage(slot, msg));
      worker.on('error', (err) => this.onError(slot, err));
      // A worker that ends without an error event (killed, out of memory) fails the same way, so no call waits on it.
      worker.on('exit', (code) => {
        if (!this.closed && !slot.dead) this.onError(slot, new Error(`the worker thread exited with code ${code}`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  /**
   * Gives `model` to every worker and prepares it there (see {@link prepareTreeShap}: ensemble, WebAssembly layout,
   * a warm-up; `interactions` warms the interaction kernel too), resolving when all are ready. Call it when a model
   * is loaded, so its first call runs at full speed; a call on a model not registered yet registers it first.
   * The workers share the model's typed arrays (SharedArrayBuffers) instead of receiving a copy each.
   */
  async register(model: TreeEnsemble, options: { interactions?: boolean } = {}): Promise<void> {
    if (this.closed) throw new ShapError('INVALID_INPUT', 'TreeShapPool is closed; create a new pool.');
    if (this.slots.every((slot) => slot.dead)) throw new ShapError('INVALID_INPUT', 'Every TreeSHAP worker of this pool has failed; create a new pool.');
    prepareEnsemble(model); // the model's own errors, here rather than from every worker
    const interactions = options.interactions ?? false;
    let id = modelIds.get(model);
    if (id === undefined) modelIds.set(model, (id = nextModelId++));
    const known = this.registered.get(id);
    if (known && (known.interactions || !interactions)) return known.ready;
    const shared = known?.shared ?? shareEnsemble(model);
    const message: TreeRegister = { register: id, model: shared, interactions };
    const ready = Promise.all(
      this.slots
        .filter((slot) => !slot.dead)
        .map(
          (slot) =>
            new Promise<void>((resolve, reject) => {
              const waiting = slot.registering.get(id) ?? [];
              waiting.push({ resolve, reject });
              slot.registering.set(id, waiting);
              slot.worker.postMessage(message);
            }),
        ),
    ).then(() => undefined);
    // A failed registration is tried again by the next call.
    ready.catch(() => {
      if (this.registered.get(id!)?.ready === ready) this.registered.delete(id!);
    });
    this.registered.set(id, { shared, interactions, ready });
    this.updateRefs();
    return ready;
  }

  /** Path-dependent SHAP values (see {@link treeShapPathDependent}), rows split over the workers. */
  async pathDependent(model: TreeEnsemble, rows: Float64Array, nRows: number, options: PathDependentOptions = {}): Promise<TreeShapValues> {
    const prep = preparePathDependent(model);
    checkRows(model, rows, nRows);
    const algorithm = resolvePathAlgorithm(prep, options.algorithm ?? 'auto');
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
   * Forgets `model`: the pool and its workers drop it. Call it once no task of the model runs or waits (e.g. after a
   * served model was replaced and its calls drained); a later call on the same model registers it again.
   */
  release(model: TreeEnsemble): void {
    const id = modelIds.get(model);
    if (id === undefined || this.closed || !this.registered.has(id)) return;
    if (this.queue.some((q) => q.task.modelId === id)) return; // still in use: keep it
    this.registered.delete(id);
    for (const slot of this.slots) if (!slot.dead) slot.worker.postMessage({ release: id });
  }

  /** Models the pool holds (registered and not released). */
  get heldModels(): number {
    return this.registered.size;
  }

  /** Terminates the workers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new ShapError('INVALID_INPUT', 'TreeShapPool was closed while a task was running.');
    for (const p of this.pending.values()) p.reject(err);
    for (const q of this.queue) q.pending.reject(err);
    for (const slot of this.slots) for (const waiting of slot.registering.values()) for (const w of waiting) w.reject(err);
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
    await this.register(model);
    const mid = modelIds.get(model)!;
    const nF = model.nFeatures;
    const out = new Float64Array(nRows * stride);
    const chunk = this.chunkRows ?? taskRows(nRows, this.threads);
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < nRows; start += chunk) {
      const end = Math.min(nRows, start + chunk);
      const slice = rows.slice(start * nF, end * nF);
      const task = { id: 0, kind, modelId: mid, rows: slice, nRows: end - start, ...extra } as TreeTask;
      jobs.push(
        new Promise<Float64Array>((resolve, reject) => {
          this.queue.push({ task, pending: { resolve, reject } });
          this.pump();
        }).then((values) => out.set(values, start * stride)),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || slot.dead) continue;
      const q = this.queue.shift();
      if (!q) break;
      const id = this.nextTask++;
      let task: TreeTask = { ...q.task, id };
      if (task.kind === 'interventional') {
        if (slot.backgrounds.has(task.backgroundId!)) task = { ...task, background: undefined };
        else slot.backgrounds.add(task.backgroundId!);
      }
      slot.busy = true;
      slot.current = id;
      this.pending.set(id, q.pending);
      slot.worker.postMessage(task, [task.rows.buffer as ArrayBuffer]);
    }
    this.updateRefs();
  }

  /** Workers keep the process alive only while they have work (a task or a registration) in flight. */
  private updateRefs(): void {
    const busy = this.pending.size > 0 || this.slots.some((s) => s.registering.size > 0);
    for (const s of this.slots) {
      if (busy) s.worker.ref();
      else s.worker.unref();
    }
  }

  private onMessage(slot: WorkerSlot, msg: TreeTaskResult | TreeRegistered): void {
    if ('registered' in msg) {
      const waiting = slot.registering.get(msg.registered) ?? [];
      slot.registering.delete(msg.registered);
      for (const w of waiting) {
        if (msg.ok) w.resolve();
        else w.reject(new ShapError((msg.code as 'INVALID_INPUT') ?? 'INVALID_INPUT', msg.message));
      }
      this.updateRefs();
      return;
    }
    slot.busy = false;
    slot.current = undefined;
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    if (p) {
      if (msg.ok) p.resolve(msg.values);
      else p.reject(new ShapError((msg.code as 'INVALID_INPUT') ?? 'INVALID_INPUT', msg.message));
    }
    this.pump();
  }

  private onError(slot: WorkerSlot, err: Error): void {
    const id = slot.current;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if (p && id !== undefined) {
      this.pending.delete(id);
      p.reject(new ShapError('INVALID_INPUT', `A TreeSHAP worker failed: ${err.message}`, { cause: err }));
    }
    const failed = new ShapError('INVALID_INPUT', `A TreeSHAP worker failed while preparing a model: ${err.message}`, { cause: err });
    for (const waiting of slot.registering.values()) for (const w of waiting) w.reject(failed);
    slot.registering.clear();
    slot.busy = true; // a crashed worker takes no more tasks
    slot.dead = true;
    if (this.slots.every((s) => s.dead)) {
      const e = new ShapError('INVALID_INPUT', `All TreeSHAP workers failed (last error: ${err.message}).`, { cause: err });
      for (const q of this.queue) q.pending.reject(e);
      this.queue.length = 0;
      for (const p2 of this.pending.values()) p2.reject(e);
      this.pending.clear();
    }
    this.updateRefs();
  }
}

/** Creates a reusable worker pool for TreeSHAP. Call `close()` when done (idle workers do not keep the process alive). */
export function createTreeShapPool(options: TreeShapPoolOptions = {}): TreeShapPool {
  return new TreeShapPool(options);
}
