/**
 * What a pull iterator over a push stream waits on (gRPC request messages in grpc/calls.ts, a request body in
 * store/transfer.ts): the stream ended, its first error, and a wait that the next event ends.
 */
export class StreamSignal {
  ended = false;
  error: unknown;
  private wake: (() => void) | undefined;

  /** Wakes the waiting `next()`, if any. */
  readonly notify = (): void => {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };

  readonly end = (): void => {
    this.ended = true;
    this.notify();
  };

  /** Keeps the first error. */
  readonly fail = (e: unknown): void => {
    this.error ??= e;
    this.notify();
  };

  /** Resolves at the next notify(). */
  wait(): Promise<void> {
    return new Promise<void>((r) => (this.wake = r));
  }
}
