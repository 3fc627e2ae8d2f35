/**
 * Loads an optional peer dependency at its first use. `@genome/model-format` installs with only what parsing and
 * the tree IR need; the remote Open Inference Protocol gRPC client (`@grpc/grpc-js`, `@genome/proto`) and the tar
 * archive reader (`tar`) are optional peers, imported by the call that needs them (as onnxruntime-node and TF.js are,
 * see runtime.ts and tf-loader.ts). When one is not installed the call fails with `MISSING_DEPENDENCY`, naming the
 * packages to install.
 */
import { ModelFormatError } from './errors.js';

/** True when `err` says that `specifier` itself (not something it imports) could not be found. */
export function isMissingModule(err: unknown, specifier: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return false;
  const message = typeof e.message === 'string' ? e.message : '';
  return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`);
}

/**
 * `import(specifier)` (the module namespace; a CommonJS module's `module.exports` is its `default`). A module that is not installed is a
 * `MISSING_DEPENDENCY` error: "`needs` (for instance 'gRPC remote predictors need') ...: npm install `install`".
 * Any other failure (a broken install, an error while the module runs) is rethrown as it is.
 */
export async function importOptional<T>(specifier: string, needs: string, install: readonly string[]): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    if (!isMissingModule(err, specifier)) throw err;
    throw new ModelFormatError(
      'MISSING_DEPENDENCY',
      `${needs} ${specifier}, an optional peer dependency of @genome/model-format that is not installed: npm install ${install.join(' ')}`,
      { cause: err },
    );
  }
}
