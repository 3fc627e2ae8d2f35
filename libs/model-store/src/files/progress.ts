/**
 * {@link ProgressReporter}: turns the bytes a save, download or open works through into {@link TransferProgress}
 * reports for a caller's listener (bytes per file and phase, and their sum over the package).
 */
import { ModelStoreError } from '../errors.js';
import type { ProgressListener, TransferProgress } from '../types.js';

type Phase = TransferProgress['phase'];

/** Throws INVALID_ARGUMENT unless `onProgress` is absent or a function. */
export function checkProgressListener(onProgress: unknown): ProgressListener | undefined {
  if (onProgress === undefined || onProgress === null) return undefined;
  if (typeof onProgress !== 'function') throw new ModelStoreError('INVALID_ARGUMENT', `onProgress must be a function, got ${typeof onProgress}.`);
  return onProgress as ProgressListener;
}

/** The reports of one operation on one package. A reporter without a listener does nothing. */
export class ProgressReporter {
  /** Latest bytes per `phase\0path`. */
  private readonly fileBytes = new Map<string, number>();
  private readonly phaseBytes = new Map<Phase, number>();

  constructor(
    private readonly listener: ProgressListener | undefined,
    /** The size of the whole package. */
    private readonly packageTotalBytes: number,
  ) {}

  get active(): boolean {
    return this.listener !== undefined;
  }

  /** Reports that `bytes` of `path` (of `totalBytes`) are done in `phase`. */
  report(phase: Phase, path: string, bytes: number, totalBytes: number): void {
    if (!this.listener) return;
    const key = `${phase}\0${path}`;
    const packageBytes = (this.phaseBytes.get(phase) ?? 0) + bytes - (this.fileBytes.get(key) ?? 0);
    this.fileBytes.set(key, bytes);
    this.phaseBytes.set(phase, packageBytes);
    try {
      this.listener({ phase, path, bytes, totalBytes: Math.max(totalBytes, bytes), packageBytes, packageTotalBytes: this.packageTotalBytes });
    } catch {
      // A listener's failure must not fail the transfer (documented: it must not throw).
    }
  }

  /**
   * A counter for one file in one phase (undefined without a listener): `add` each chunk's length as it is done;
   * `finish` reports the file complete, at `finalBytes` when more than was counted (a blob found held, not read).
   */
  counter(phase: Phase, path: string, totalBytes: number): FileCounter | undefined {
    if (!this.listener) return undefined;
    let bytes = 0;
    let reported = false;
    const report = (b: number): void => {
      bytes = b;
      reported = true;
      this.report(phase, path, b, totalBytes);
    };
    return {
      add: (n) => report(bytes + n),
      finish: (finalBytes = bytes) => {
        if (!reported || finalBytes > bytes) report(Math.max(finalBytes, bytes));
      },
    };
  }
}

/** Counts the bytes of one file in one phase: see {@link ProgressReporter.counter}. */
export interface FileCounter {
  add(n: number): void;
  finish(finalBytes?: number): void;
}
