/** A progress bar on stderr (cli-progress) for long streams; only when stderr is a terminal and not --quiet. */
import cliProgress from 'cli-progress';
import type { OutStream } from './io.js';

export interface ProgressSink {
  update(done: number, total: number): void;
  stop(): void;
}

const SILENT: ProgressSink = { update() {}, stop() {} };

export function progressBar(stderr: OutStream, enabled: boolean, label: string): ProgressSink {
  if (!enabled || !stderr.isTTY) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as unknown as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted} | ETA {eta_formatted}`,
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
