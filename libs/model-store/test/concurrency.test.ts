// mapLimit, the bounded fan-out under downloads, uploads and hashing: a failure stops new calls, and the promise
// rejects with the first error only after every started call has ended, so the caller's cleanup (removing a
// partial download directory) never races a call still writing into it.
import t from 'tap';
import { mapLimit } from '../src/blobs/concurrency.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a failure waits for the calls in flight, starts no new one, and rejects with the first error', async (t) => {
  const ended: number[] = [];
  const started: number[] = [];
  const failing = new Error('first');
  const run = mapLimit([0, 1, 2, 3, 4, 5], 3, async (i) => {
    started.push(i);
    if (i === 0) throw failing;
    if (i === 1) {
      await sleep(60);
      ended.push(i);
      throw new Error('second, later');
    }
    await sleep(30);
    ended.push(i);
    return i;
  });
  await t.rejects(run, failing, 'rejects with the first error');
  t.same(ended.sort(), [1, 2], 'only after the calls in flight (1 and 2) ended');
  t.same(started.sort(), [0, 1, 2], 'no call started after the failure');
});

t.test('results keep the input order', async (t) => {
  t.same(await mapLimit([30, 10, 20], 2, async (ms, i) => (await sleep(ms), i * 10)), [0, 10, 20]);
  t.same(await mapLimit([], 4, async () => 1), []);
});
