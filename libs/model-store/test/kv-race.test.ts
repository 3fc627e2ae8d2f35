/**
 * putIfAbsent across processes: 4 child processes race on the same 200 keys of each real backend (a SQLite file, a
 * PostgreSQL table, Redis); every key must have exactly one winner and hold that winner's value.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KvKind } from '../src/kv/kv-backend.js';
import { kvFixture } from './helpers/kv-backends.js';

const PROCESSES = 4;
const KEYS = 200;
const racer = fileURLToPath(new URL('./helpers/kv-racer.ts', import.meta.url));

interface RacerResult {
  id: number;
  won: number[];
  lostTo: Record<string, string | undefined>;
}

/** Starts one racer; resolves `ready` once it has opened the backend and `result` with its final line. */
function startRacer(args: { url: string; namespace: string; id: number }) {
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', racer, JSON.stringify({ ...args, keys: KEYS, concurrency: 4 })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    if (line === 'ready') onReady();
  });
  const result = once(child, 'close').then(([code]) => {
    const last = lines.at(-1);
    if (code !== 0 || !last?.startsWith('{')) throw new Error(`racer ${args.id} exited with ${code}: ${lines.join('\n')}\n${stderr}`);
    return JSON.parse(last) as RacerResult;
  });
  // A racer that dies before `ready` must fail the test rather than hang it.
  return { child, ready: Promise.race([ready, result.then(() => undefined)]), result };
}

for (const kind of ['sqlite', 'postgres', 'redis'] as const satisfies readonly KvKind[]) {
  t.test(`${PROCESSES} processes race putIfAbsent on ${KEYS} keys: ${kind}`, async (t) => {
    const fixture = await kvFixture(kind, `race-${kind}`);
    t.teardown(() => fixture.cleanup());
    const namespace = fixture.namespace('race');
    // All racers open the (for SQLite: brand new) database at the same time.
    const racers = Array.from({ length: PROCESSES }, (_, id) => startRacer({ url: fixture.url, namespace, id }));
    t.teardown(() => racers.forEach((r) => r.child.exitCode === null && r.child.kill()));
    await Promise.all(racers.map((r) => r.ready));
    const startAt = Date.now() + 200;
    for (const r of racers) r.child.stdin.write(`go ${startAt}\n`);
    const results = await Promise.all(racers.map((r) => r.result));

    const kv = await fixture.open(namespace);
    t.teardown(() => kv.close());
    const stored = await kv.getMany(Array.from({ length: KEYS }, (_, i) => `race:${i}`));
    const winners = new Map<number, number[]>();
    for (const r of results) for (const i of r.won) winners.set(i, [...(winners.get(i) ?? []), r.id]);
    let bad = 0;
    for (let i = 0; i < KEYS; i++) {
      const w = winners.get(i) ?? [];
      if (w.length !== 1) t.fail(`race:${i} has ${w.length} winners (${w.join(', ')})`);
      else if (stored[i] !== `${w[0]}:${i}`) t.fail(`race:${i} holds ${stored[i]}, not the winner ${w[0]}'s value`);
      else continue;
      bad++;
    }
    t.equal(bad, 0, `every one of the ${KEYS} keys has exactly one winner, whose value it holds`);
    for (const r of results) {
      const wrong = Object.entries(r.lostTo).filter(([i, v]) => v === undefined || v === `${r.id}:${i}` || v !== stored[Number(i)]);
      t.same(wrong, [], `racer ${r.id}: every key it lost already held another racer's value`);
    }
    const counts = results.map((r) => r.won.length);
    t.equal(counts.reduce((a, b) => a + b, 0), KEYS, `wins per process: ${counts.join(', ')}`);
    await kv.clear();
  });
}
