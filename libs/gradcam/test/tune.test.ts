/** The evaluator timing: warm-up calls are not measured; a clear winner or the time budget ends it early. */
import t from 'tap';
import { TUNE_BUDGET_MS, timeAlternating } from '../src/onnx/tune.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('counts calls, skips warm-up, stops on a clear winner or past the budget', async (t) => {
  const calls = { a: 0, b: 0 };
  // similar costs (a 2 ms timer each): all calls run
  let [a, b] = await timeAlternating(() => (calls.a++, sleep(2)), () => (calls.b++, sleep(2)), 20);
  t.same(calls, { a: 10, b: 10 }, 'similar: all 20 calls');
  t.ok(Number.isFinite(a) && Number.isFinite(b), 'both measured');
  // the first two calls of each are warm-up: a slow first call does not count
  calls.a = calls.b = 0;
  [a] = await timeAlternating(async () => (calls.a++ === 0 ? sleep(30) : undefined), async () => void calls.b++, 20);
  t.ok(a < 5, `a slow first call is not measured (median ${a.toFixed(2)} ms)`);
  // a clear winner: six calls each
  calls.a = calls.b = 0;
  [a, b] = await timeAlternating(() => (calls.a++, sleep(4)), async () => void calls.b++, 40);
  t.same(calls, { a: 6, b: 6 }, 'a clear winner ends it after six calls each');
  t.ok(a > 2 * b, 'and the times show it');
  // slow calls of similar cost: the budget ends it once each has two measured calls
  calls.a = calls.b = 0;
  const t0 = performance.now();
  await timeAlternating(() => (calls.a++, sleep(TUNE_BUDGET_MS / 5)), () => (calls.b++, sleep(TUNE_BUDGET_MS / 5)), 40);
  t.same(calls, { a: 4, b: 4 }, 'past the budget after four calls each');
  t.ok(performance.now() - t0 < 3 * TUNE_BUDGET_MS, 'well under 40 calls of time');
});
