/**
 * A worker thread running one ES module of a Genome package, from the built dist (`entry` ends in `.js`) or from
 * TypeScript source under tsx (`entry` ends in `.ts`: a tiny eval'd bootstrap registers tsx's ESM hooks in the
 * worker, then imports the entry with the `@genome/source` condition, which test runners may pass in ways a Worker
 * does not inherit). Used by the TreeSHAP pool and the sidecar's chart worker.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The entry module next to `self` (an `import.meta.url`): `name.ts` from source, `name.js` from dist. */
export function siblingModule(self: string, name: string): URL {
  return new URL(`./${name}${self.endsWith('.ts') ? '.ts' : '.js'}`, self);
}

export function startModuleWorker(entry: URL, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--import') && !a.startsWith('--loader'));
  if (!execArgv.some((a) => a.includes('@genome/source'))) execArgv.push('--conditions=@genome/source');
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`, {
    ...options,
    eval: true,
    execArgv,
  });
}
