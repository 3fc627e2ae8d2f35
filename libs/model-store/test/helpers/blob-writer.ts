/**
 * A child process that writes one blob, for the multi-process tests of the blob store contract.
 *
 * Usage: node --import=tsx --conditions=@genome/source blob-writer.ts '<json>' with
 * `{ spec, seed, size, chunkBytes, pauseAfterBytes? }`:
 * - prints `ready` once the store is open, then waits for a line `go` on stdin;
 * - streams the `size` bytes of `deterministicBytes(seed, size)`, made on the fly in chunks of `chunkBytes`;
 * - with `pauseAfterBytes`, prints `paused` once that many bytes have been handed to the store, then stalls forever
 *   (the test kills it with SIGKILL);
 * - prints the put result as JSON and exits 0, or prints the error and exits 1.
 */
import { createInterface } from 'node:readline';
import { openBlobStore } from '../../src/blobs/open.js';
import { deterministicChunks } from './bytes.js';
import type { WriterArgs } from './children.js';

const args = JSON.parse(process.argv[2] ?? '{}') as WriterArgs;
const store = await openBlobStore(args.spec);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'go') {
      rl.close();
      resolve();
    }
  });
});

async function* source(): AsyncGenerator<Uint8Array> {
  let handed = 0;
  for (const chunk of deterministicChunks(args.seed, args.size, args.chunkBytes)) {
    yield chunk;
    handed += chunk.byteLength;
    if (args.pauseAfterBytes !== undefined && handed >= args.pauseAfterBytes) {
      process.stdout.write('paused\n');
      setInterval(() => undefined, 1 << 30); // keep the process alive while stalled
      await new Promise<never>(() => undefined);
    }
  }
}

try {
  const result = await store.put(source());
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await store.close();
  process.exit(0);
} catch (err) {
  process.stdout.write(`error ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? ''} ${err.message}` : String(err)}\n`);
  process.exit(1);
}
