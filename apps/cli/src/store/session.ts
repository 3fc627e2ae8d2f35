/**
 * `genome store` works on a model store directly through @genome/model-store (no server): the store flags (`--store-dir`,
 * `--store-metadata`, `--store-blobs`, with their environment variables) open it, and every error of the library becomes
 * a {@link CliError} with the exit code its code maps to. The library is imported on first use, so that the other
 * commands do not load it (nor SQLite's native module).
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ModelStore, ModelStoreErrorCode } from '@genome/model-store';
import { CliError, type CliErrorCode } from '../errors.js';

export const DEFAULT_STORE_DIR = '.genome-store';

/** The store flags as commander parses them (`command.optsWithGlobals()`). */
export interface StoreFlags {
  storeDir?: string;
  storeMetadata?: string;
  storeBlobs?: string;
}

/** Adds the store flags to `genome store` (its subcommands take them before or after their name). */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--store-dir <dir>', 'the store directory (holds metadata.sqlite and blobs/ unless the flags below say otherwise)')
        .env('GENOME_STORE_DIR')
        .default(DEFAULT_STORE_DIR),
    )
    .addOption(new Option('--store-metadata <url>', 'metadata backend: sqlite://, postgres:// or redis:// URL (default: SQLite in --store-dir)').env('GENOME_STORE_METADATA'))
    .addOption(new Option('--store-blobs <spec>', 'blob store: a directory or s3://bucket/prefix?endpoint=... (default: <store-dir>/blobs)').env('GENOME_STORE_BLOBS'));
}

/** How each code of the library maps onto the CLI's error kinds (and so its exit codes). */
const KIND_OF: Record<ModelStoreErrorCode, CliErrorCode> = {
  INVALID_ARGUMENT: 'USAGE',
  NOT_FOUND: 'NOT_FOUND',
  FAILED_PRECONDITION: 'SERVER',
  CORRUPT: 'SERVER',
  UNAVAILABLE: 'UNREACHABLE',
  MISSING_DEPENDENCY: 'SERVER',
  CANCELLED: 'SERVER',
  INTERNAL: 'SERVER',
};

/** ModelFormatError codes (a package that cannot be read), by the same rule: the caller's input is wrong → exit 2. */
const FORMAT_KIND_OF: Record<string, CliErrorCode> = {
  INVALID_MODEL: 'USAGE',
  UNSUPPORTED: 'USAGE',
  INVALID_INPUT: 'USAGE',
  INVALID_PACKAGE: 'USAGE',
};

/** A library error as a CLI error; anything else is returned as is. */
export function storeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (err.name === 'ModelStoreError' && code in KIND_OF) return new CliError(KIND_OF[code as ModelStoreErrorCode], err.message, code);
  if (err.name === 'ModelFormatError') return new CliError(FORMAT_KIND_OF[code] ?? 'SERVER', err.message, code);
  return err;
}

/** An open store (its saves and downloads report progress through their `onProgress` option). */
export interface StoreSession {
  store: ModelStore;
  /** The library, loaded. */
  lib: typeof import('@genome/model-store');
}

/**
 * Opens the store named by the flags of `command` (and its parents), runs `fn`, and closes the store. Errors of the
 * library (opening included) come out as {@link CliError}s.
 */
export async function withStore<T>(command: Command, fn: (s: StoreSession) => Promise<T>): Promise<T> {
  const flags = command.optsWithGlobals<StoreFlags>();
  const dir = resolve(flags.storeDir?.trim() || DEFAULT_STORE_DIR);
  try {
    const lib = await import('@genome/model-store');
    const store = await lib.openModelStore({
      dir,
      blobs: flags.storeBlobs?.trim() || resolve(dir, 'blobs'),
      ...(flags.storeMetadata?.trim() ? { metadata: flags.storeMetadata.trim() } : {}),
    });
    try {
      return await fn({ store, lib });
    } finally {
      await store.close().catch(() => undefined);
    }
  } catch (err) {
    throw storeError(err);
  }
}
