/**
 * A test-only hook for the crash-safety tests: with `GENOME_STORE_TEST_PAUSE_AFTER_UPLOAD=<file>` in the environment,
 * a save that has uploaded its blobs writes the process id to `<file>` and waits forever before committing, so that
 * a test can SIGKILL the process exactly between upload and commit. Without the variable it does nothing.
 */
import { writeFileSync } from 'node:fs';

/** The environment variable naming the marker file. */
export const PAUSE_AFTER_UPLOAD_ENV = 'GENOME_STORE_TEST_PAUSE_AFTER_UPLOAD';

/** Pauses forever (after writing the marker) when the test hook is set; returns at once otherwise. */
export async function pauseAfterUploadIfAsked(): Promise<void> {
  const marker = process.env[PAUSE_AFTER_UPLOAD_ENV];
  if (!marker) return;
  writeFileSync(marker, String(process.pid));
  await new Promise<void>(() => {
    setInterval(() => undefined, 1 << 30);
  });
}
