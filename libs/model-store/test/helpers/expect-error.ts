/** The typed-error check of the model store's tests. */
import type { Test } from 'tap';
import { ModelStoreError, type ModelStoreErrorCode } from '../../src/errors.js';

/**
 * Expects `action` to fail with ModelStoreError `code` whose message contains every string (or matches every
 * pattern); returns the error.
 */
export async function expectError(
  t: Test,
  action: Promise<unknown> | (() => unknown),
  code: ModelStoreErrorCode,
  ...patterns: Array<RegExp | string>
): Promise<ModelStoreError | undefined> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    if (!(err instanceof ModelStoreError)) {
      t.fail(`expected ModelStoreError ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      return undefined;
    }
    t.equal(err.code, code, `code ${code}: ${err.message}`);
    for (const p of patterns) {
      if (typeof p === 'string') t.ok(err.message.includes(p), `message names ${JSON.stringify(p)}: ${err.message}`);
      else t.match(err.message, p);
    }
    return err;
  }
  t.fail(`expected ModelStoreError ${code}, but it succeeded`);
  return undefined;
}
