/** The process side of a Genome server's CLI entry: last-resort fault logging and a graceful stop on SIGTERM/SIGINT. */
import { randomUUID } from 'node:crypto';
import type { KitLogger } from './grpc.js';

/**
 * Logs faults outside any call's handling with an id and keeps serving (every request path has its own guard, so
 * reaching these is a bug to report, not a way to stop the process), and on SIGTERM/SIGINT drains through
 * `server.close()` and exits 0 (1 when the drain fails); a second signal exits 1 at once.
 */
export function serveUntilSignalled(server: { logger: KitLogger; close(): Promise<void> }): void {
  const { logger } = server;
  process.on('unhandledRejection', (reason) => logger.error({ err: reason, errorId: randomUUID() }, 'unhandled rejection; still serving'));
  process.on('uncaughtException', (err) => logger.error({ err, errorId: randomUUID() }, 'uncaught exception; still serving'));
  let signals = 0;
  const stop = (sig: string) => {
    if (++signals > 1) {
      logger.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal: sig }, 'signal received');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Starts the server for a CLI entry: resolves with it, or exits — 0 after printing `usage()` when `isHelp(err)` (the
 * --help flag), else 2 after printing `<bin>: <message>` on stderr.
 */
export async function startOrExit<S>(bin: string, start: () => Promise<S>, isHelp: (err: unknown) => boolean, usage: () => string): Promise<S> {
  try {
    return await start();
  } catch (err) {
    if (isHelp(err)) {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    process.stderr.write(`${bin}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
