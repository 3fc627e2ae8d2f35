/** Child process: opens the blob store spec given as argv[2] and prints `{ ok }` or `{ code, message }` as JSON. */
import { openBlobStore } from '../../src/blobs/open.js';
import { ModelStoreError } from '../../src/errors.js';

try {
  const store = await openBlobStore(process.argv[2] ?? '');
  process.stdout.write(JSON.stringify({ ok: store.location }));
  await store.close();
} catch (err) {
  process.stdout.write(JSON.stringify(err instanceof ModelStoreError ? { code: err.code, message: err.message } : { message: String(err) }));
}
