/**
 * Child process of the kv tests: opens each URL given as an argument with `openKv` (with `openModelStore` as its
 * metadata when `KV_OPEN_STORE_DIR` is set: the store's directory), stores and reads one key, and prints one JSON
 * array of `{ url, kind, location }` or `{ url, code, message, ms }`.
 */
import { openKv } from '../../src/kv/open.js';
import { openModelStore } from '../../src/store.js';

const storeDir = process.env.KV_OPEN_STORE_DIR;
const results: Array<Record<string, unknown>> = [];
for (const url of process.argv.slice(2)) {
  const start = Date.now();
  try {
    if (storeDir !== undefined) {
      const store = await openModelStore({ metadata: url, dir: storeDir, namespace: 'kv-open-child' });
      const { models } = await store.listModels();
      await store.close();
      results.push({ url, kind: 'store', models: models.length });
      continue;
    }
    const kv = await openKv(url, { namespace: 'kv-open-child' });
    await kv.putIfAbsent('probe', 'ok');
    const read = await kv.get('probe');
    await kv.clear();
    await kv.close();
    results.push({ url, kind: kv.kind, location: kv.location, read });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    results.push({ url, name: e.name, code: e.code, message: e.message, ms: Date.now() - start });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
