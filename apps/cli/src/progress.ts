/** A progress bar on stderr (cli-progress) for long streams; only when stderr is a terminal and not --quiet. */
import cliProgress from 'cli-progress';
import type { OutStream } from './io.js';
import { formatBytes } from './output/bytes.js';

export interface ProgressSink {
  update(done: number, total: number): void;
  stop(): void;
}

const SILENT: ProgressSink = { update() {}, stop() {} };

export interface ProgressOptions {
  /** What `done` and `total` count: rows (default) or bytes (shown as KiB, MiB, ...). */
  unit?: 'rows' | 'bytes';
}

export function progressBar(stderr: OutStream, enabled: boolean, label: string, o: ProgressOptions = {}): ProgressSink {
  if (!enabled || !stderr.isTTY) return SILENT;
  const bytes = o.unit === 'bytes';
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as unknown as NodeJS.WritableStream,
      format: bytes
        ? `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} | ETA {eta_formatted}`
        : `${label} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted} | ETA {eta_formatted}`,
      ...(bytes
        ? {
            formatValue: (v: number, options: cliProgress.Options, type: cliProgress.ValueType) =>
              type === 'value' || type === 'total' ? formatBytes(v) : cliProgress.Format.ValueFormat(v, options, type),
          }
        : {}),
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  // Ctrl-C while the bar is drawn: clear it and give the cursor back before exiting as an interrupted command does.
  const onInterrupt = () => {
    bar.stop();
    process.exit(130);
  };
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
        process.once('SIGINT', onInterrupt);
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (!started) return;
      process.off('SIGINT', onInterrupt);
      bar.stop();
    },
  };
}
