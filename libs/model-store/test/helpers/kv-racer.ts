/**
 * Child process of the kv race test. Argument: JSON `{ url, namespace, id, keys, concurrency }`. Opens the backend,
 * prints `ready`, waits for a line `go <epoch ms>` on stdin and for that moment (so that every racer starts together),
 * then calls `putIfAbsent('race:<i>', '<id>:<i>')` for every i < keys, `concurrency` at a time: the first 20 keys in
 * the same order in every racer (all of them hit these keys at about the same moment), the rest in an order of its
 * own (so that the racers cross each other's paths everywhere). Prints one JSON line `{ id, won, lostTo }`: the keys
 * it stored, and for each key it lost, the value it read right after.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openKv } from '../../src/kv/open.js';
import { waitForGo } from './children.js';

const { url, namespace, id, keys, concurrency } = JSON.parse(process.argv[2]!) as { url: string; namespace: string; id: number; keys: number; concurrency: number };

/** Keys 0..19 in order, then the others shuffled by a generator seeded with `id`. */
function raceOrder(): number[] {
  const hot = Math.min(20, keys);
  const rest = Array.from({ length: keys - hot }, (_, i) => i + hot);
  let seed = (id + 1) * 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return [...Array.from({ length: hot }, (_, i) => i), ...rest];
}

const kv = await openKv(url, { namespace });
const order = raceOrder();
process.stdout.write('ready\n');
const startAt = await waitForGo();
await sleep(Math.max(0, startAt - Date.now() - 5));
while (Date.now() < startAt); // the last few ms spinning, for a closer start

const won: number[] = [];
const lostTo: Record<number, string | undefined> = {};
let next = 0;
async function worker(): Promise<void> {
  while (next < order.length) {
    const i = order[next++]!;
    if (await kv.putIfAbsent(`race:${i}`, `${id}:${i}`)) won.push(i);
    else lostTo[i] = await kv.get(`race:${i}`);
  }
}
await Promise.all(Array.from({ length: concurrency }, () => worker()));
await kv.close();
process.stdout.write(`${JSON.stringify({ id, won, lostTo })}\n`);
