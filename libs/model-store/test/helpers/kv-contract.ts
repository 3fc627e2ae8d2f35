/**
 * The behaviour every {@link KvBackend} must show, as one tap suite run against each backend: reads and writes,
 * put-if-absent as the one atomic primitive, namespaces, interoperation with a plain keyv 5 on the same adapter,
 * unicode and 1 MB values, key validation, closing, and a property test against a `Map` model.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import { ModelStoreError } from '../../src/errors.js';
import type { KvBackend } from '../../src/kv/kv-backend.js';
import { expectError as expectKvError } from './expect-error.js';
import type { KvFixture } from './kv-backends.js';

export { expectKvError };

/** Strings a serializer or a text column could get wrong. */
const TRICKY_VALUES: readonly string[] = [
  '',
  ' ',
  'plain',
  'é 漢字 🙂👍🏽 عربى ✓ e\u0301', // accents, CJK, emoji with modifier, RTL, combining mark
  ':starts-with-colon',
  '::two-colons',
  ':base64:aGVsbG8=', // keyv's marker for Buffers
  '{"value":"looks like keyv"}',
  'null',
  '"quoted"',
  'back\\slash and "quotes" and \n newline \t tab',
  'nul \u0000 inside',
  'lone surrogate \ud800 here',
  '\u2028\u2029 line separators',
];

/** Keys that exercise the namespace separator, unicode and keyv's prefix handling. */
function trickyKeys(namespace: string): string[] {
  return ['a', 'log:1', 'snapshot:1:0', 'é/漢字/🙂', `${namespace}:a`, `${namespace}::a`, 'with space', '%_like*?[glob]', 'x'.repeat(190)];
}

/** A 1 MB value (1,048,576 UTF-16 units) mixing ASCII, accents, CJK and emoji, different for each `seed`. */
function bigValue(seed: string): string {
  const pieces = ['abcdefghij', 'é', '漢字', '🙂', '"', '\\', '\n', ':'];
  let s = `${seed}|`;
  for (let i = 0; s.length < 1024 * 1024; i++) s += pieces[(i * 7 + seed.length) % pieces.length]! + (i % 97).toString(36);
  return s.slice(0, 1024 * 1024);
}

type Op =
  | { op: 'get'; key: string }
  | { op: 'getMany'; keys: string[] }
  | { op: 'putIfAbsent'; key: string; value: string }
  | { op: 'set'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'clear' };

function opArbitrary(namespace: string): fc.Arbitrary<Op> {
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'log:1', 'é', '🙂', `${namespace}:a`) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).filter((k) => !k.includes('\0')) },
  );
  const value = fc.oneof(fc.constantFrom(...TRICKY_VALUES), fc.string({ unit: 'binary', maxLength: 30 }));
  return fc.oneof(
    fc.record({ op: fc.constant('get' as const), key }),
    fc.record({ op: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 5 }) }),
    fc.record({ op: fc.constant('putIfAbsent' as const), key, value }),
    fc.record({ op: fc.constant('set' as const), key, value }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.constant({ op: 'clear' as const }),
  );
}

/** Applies `op` to the model, returning what the backend must answer. */
function applyToModel(model: Map<string, string>, op: Op): unknown {
  switch (op.op) {
    case 'get':
      return model.get(op.key);
    case 'getMany':
      return op.keys.map((k) => model.get(k));
    case 'putIfAbsent':
      if (model.has(op.key)) return false;
      model.set(op.key, op.value);
      return true;
    case 'set':
      model.set(op.key, op.value);
      return undefined;
    case 'delete':
      return model.delete(op.key);
    case 'clear':
      model.clear();
      return undefined;
  }
}

function applyToBackend(kv: KvBackend, op: Op): Promise<unknown> {
  switch (op.op) {
    case 'get':
      return kv.get(op.key);
    case 'getMany':
      return kv.getMany(op.keys);
    case 'putIfAbsent':
      return kv.putIfAbsent(op.key, op.value);
    case 'set':
      return kv.set(op.key, op.value);
    case 'delete':
      return kv.delete(op.key);
    case 'clear':
      return kv.clear();
  }
}

/** Runs the contract against the backend of `fixture`; `propertyRuns` sequences of up to 25 operations. */
export function kvContract(t: Test, fixture: KvFixture, propertyRuns: number): void {
  /** A backend on a namespace of its own, cleared and closed after the subtest. */
  const withKv = (name: string, fn: (t: Test, kv: KvBackend, namespace: string) => Promise<void>) =>
    t.test(name, async (t) => {
      const namespace = fixture.namespace(name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 24));
      const kv = await fixture.open(namespace);
      t.teardown(async () => {
        await kv.clear();
        await kv.close();
      });
      await fn(t, kv, namespace);
    });

  withKv('get, getMany, putIfAbsent, set, delete', async (t, kv, namespace) => {
    t.equal(kv.kind, fixture.kind);
    t.equal(kv.namespace, namespace);
    t.equal(await kv.get('a'), undefined, 'absent key reads undefined');
    t.same(await kv.getMany([]), [], 'getMany of no keys');
    t.equal(await kv.putIfAbsent('a', 'first'), true, 'first putIfAbsent stores');
    t.equal(await kv.putIfAbsent('a', 'second'), false, 'second putIfAbsent does not');
    t.equal(await kv.get('a'), 'first', 'the first value stays');
    t.same(await kv.getMany(['b', 'a', 'b', 'a']), [undefined, 'first', undefined, 'first'], 'getMany keeps order and duplicates');
    await kv.set('b', 'one');
    await kv.set('b', 'two');
    t.equal(await kv.get('b'), 'two', 'set replaces');
    await kv.set('a', 'replaced');
    t.equal(await kv.get('a'), 'replaced', 'set replaces a putIfAbsent value');
    t.equal(await kv.putIfAbsent('b', 'three'), false, 'putIfAbsent refuses a set key');
    t.equal(await kv.delete('a'), true, 'delete of a present key');
    t.equal(await kv.delete('a'), false, 'delete of an absent key');
    t.equal(await kv.get('a'), undefined);
    t.equal(await kv.putIfAbsent('a', 'again'), true, 'putIfAbsent stores again after delete');
    t.same(await kv.getMany(['a', 'b', 'c']), ['again', 'two', undefined]);
  });

  withKv('keys: separators, unicode, the namespace as a prefix, the longest key', async (t, kv, namespace) => {
    const keys = trickyKeys(namespace);
    for (const [i, key] of keys.entries()) t.equal(await kv.putIfAbsent(key, `v${i}`), true, `stores ${JSON.stringify(key.slice(0, 30))}`);
    t.same(await kv.getMany(keys), keys.map((_, i) => `v${i}`), 'getMany reads each key back');
    for (const [i, key] of keys.entries()) t.equal(await kv.get(key), `v${i}`, `get reads ${JSON.stringify(key.slice(0, 30))}`);
    for (const key of keys) t.equal(await kv.putIfAbsent(key, 'x'), false);
    for (const key of keys) t.equal(await kv.delete(key), true);
    t.same(await kv.getMany(keys), keys.map(() => undefined), 'all deleted');
  });

  withKv('invalid keys and values fail with INVALID_ARGUMENT and store nothing', async (t, kv) => {
    for (const key of ['', 'nul\u0000', 'x'.repeat(191), 'lone \udc00']) {
      await expectKvError(t, kv.putIfAbsent(key, 'v'), 'INVALID_ARGUMENT', 'Invalid metadata key');
      await expectKvError(t, kv.get(key), 'INVALID_ARGUMENT');
      await expectKvError(t, kv.getMany(['ok', key]), 'INVALID_ARGUMENT');
      await expectKvError(t, kv.set(key, 'v'), 'INVALID_ARGUMENT');
      await expectKvError(t, kv.delete(key), 'INVALID_ARGUMENT');
    }
    await expectKvError(t, kv.putIfAbsent('k', 42 as unknown as string), 'INVALID_ARGUMENT', 'not a string');
    await expectKvError(t, kv.set('k', undefined as unknown as string), 'INVALID_ARGUMENT', 'not a string');
    t.equal(await kv.get('k'), undefined);
  });

  withKv('values: unicode and serializer edge cases round-trip', async (t, kv) => {
    for (const [i, value] of TRICKY_VALUES.entries()) {
      t.equal(await kv.putIfAbsent(`p${i}`, value), true);
      await kv.set(`s${i}`, value);
    }
    const keys = TRICKY_VALUES.flatMap((_, i) => [`p${i}`, `s${i}`]);
    t.same(await kv.getMany(keys), TRICKY_VALUES.flatMap((v) => [v, v]), 'getMany returns every value exactly');
    for (const [i, value] of TRICKY_VALUES.entries()) t.equal(await kv.get(`p${i}`), value, `get tricky value #${i}`);
  });

  withKv('values: 1 MB', async (t, kv) => {
    const one = bigValue('one');
    const two = bigValue('two');
    t.equal(await kv.putIfAbsent('big', one), true);
    t.equal(await kv.putIfAbsent('big', two), false);
    await kv.set('big2', two);
    const [a, b] = await kv.getMany(['big', 'big2']);
    t.ok(a === one, 'putIfAbsent value read back exactly');
    t.ok(b === two, 'set value read back exactly');
    t.ok((await kv.get('big')) === one);
  });

  t.test('namespaces are isolated, and clear() empties only its own', async (t) => {
    // 'iso' and 'iso.x' start alike: clearing one must not touch the other.
    const [nsA, nsB] = [fixture.namespace('iso'), fixture.namespace('iso.x')];
    const a = await fixture.open(nsA);
    const b = await fixture.open(nsB);
    const plain = await fixture.plainKeyv(fixture.namespace('iso_'));
    t.teardown(async () => {
      await plain.keyv.delete('k'); // not keyv.clear(): on a Map store it would empty the whole map
      await plain.close();
      for (const kv of [a, b]) {
        await kv.clear();
        await kv.close();
      }
    });
    t.equal(await a.putIfAbsent('k', 'in a'), true);
    t.equal(await b.putIfAbsent('k', 'in b'), true, 'the same key is absent in another namespace');
    await plain.keyv.set('k', 'plain keyv in a third namespace');
    t.equal(await a.get('k'), 'in a');
    t.equal(await b.get('k'), 'in b');
    await a.clear();
    t.equal(await a.get('k'), undefined, 'cleared');
    t.equal(await b.get('k'), 'in b', 'the other namespace keeps its key');
    t.equal(await plain.keyv.get('k'), 'plain keyv in a third namespace', 'so does a plain keyv namespace');
    t.equal(await a.putIfAbsent('k', 'a again'), true, 'usable after clear');
  });

  withKv('interop: a plain keyv 5 on the same adapter and namespace reads and writes the same entries', async (t, kv, namespace) => {
    const plain = await fixture.plainKeyv(namespace);
    t.teardown(() => plain.close());
    const value = TRICKY_VALUES[3]!;
    t.equal(await kv.putIfAbsent('log:1', value), true);
    await kv.set('head', ':1');
    t.equal(await plain.keyv.get('log:1'), value, 'keyv reads a putIfAbsent value');
    t.equal(await plain.keyv.get('head'), ':1', 'keyv reads a set value');
    t.same(await plain.keyv.getMany(['log:1', 'head', 'none']), [value, ':1', undefined], 'keyv getMany reads them');
    t.ok((await plain.keyv.get('big')) === undefined);
    const big = bigValue('interop');
    await plain.keyv.set('big', big);
    await plain.keyv.set('log:2', 'written by keyv');
    t.ok((await kv.get('big')) === big, 'the backend reads a 1 MB value keyv wrote');
    t.same(await kv.getMany(['log:2', 'log:1']), ['written by keyv', value]);
    t.equal(await kv.putIfAbsent('log:2', 'mine'), false, 'putIfAbsent sees a key keyv wrote');
    t.equal(await plain.keyv.get('log:2'), 'written by keyv', 'and leaves it');
    t.equal(await plain.keyv.delete('log:1'), true);
    t.equal(await kv.get('log:1'), undefined, 'the backend sees a keyv delete');
    t.equal(await kv.delete('log:2'), true);
    t.equal(await plain.keyv.get('log:2'), undefined, 'keyv sees a backend delete');
    await kv.clear();
    t.equal(await plain.keyv.get('big'), undefined, 'clear removes what keyv wrote in the namespace');
  });

  withKv('values not in keyv form fail with CORRUPT', async (t, kv, namespace) => {
    const plain = await fixture.plainKeyv(namespace);
    t.teardown(() => plain.close());
    // Raw writes on the adapter, bypassing keyv's serializer (a Redis adapter prefixes the namespace itself).
    const raw = (key: string) => (fixture.kind === 'redis' ? key : `${namespace}:${key}`);
    await plain.keyv.store.set(raw('garbage'), 'not json {');
    await plain.keyv.store.set(raw('number'), '{"value":42}');
    await expectKvError(t, kv.get('garbage'), 'CORRUPT', 'garbage');
    await expectKvError(t, kv.getMany(['ok', 'garbage']), 'CORRUPT');
    await expectKvError(t, kv.get('number'), 'CORRUPT', 'non-string value');
    t.equal(await kv.putIfAbsent('garbage', 'v'), false, 'putIfAbsent still sees the key');
    t.equal(await kv.delete('garbage'), true, 'and it can be deleted');
  });

  withKv('putIfAbsent: one winner among concurrent callers on two connections', async (t, kv, namespace) => {
    const other = await fixture.open(namespace);
    t.teardown(() => other.close());
    const keys = Array.from({ length: 20 }, (_, i) => `race:${i}`);
    const attempts = keys.flatMap((key) => [0, 1, 2, 3].map((n) => ({ key, n, kv: n % 2 === 0 ? kv : other })));
    const results = await Promise.all(attempts.map((a) => a.kv.putIfAbsent(a.key, `${a.key}#${a.n}`)));
    const stored = await kv.getMany(keys);
    for (const [i, key] of keys.entries()) {
      const winners = attempts.filter((a, j) => a.key === key && results[j]);
      t.equal(winners.length, 1, `${key}: exactly one winner`);
      t.equal(stored[i], `${key}#${winners[0]?.n}`, `${key}: the winner's value is stored`);
    }
  });

  t.test('a closed backend fails with FAILED_PRECONDITION; close is idempotent', async (t) => {
    const kv = await fixture.open(fixture.namespace('closed'));
    await kv.close();
    await kv.close();
    await expectKvError(t, kv.get('a'), 'FAILED_PRECONDITION', 'closed');
    await expectKvError(t, kv.putIfAbsent('a', 'b'), 'FAILED_PRECONDITION');
    await expectKvError(t, kv.clear(), 'FAILED_PRECONDITION');
  });

  withKv('property: behaves like a Map on random operation sequences', async (t, kv, namespace) => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary(namespace), { minLength: 1, maxLength: 25 }), async (ops) => {
        await kv.clear();
        const model = new Map<string, string>();
        for (const [i, op] of ops.entries()) {
          const expected = fc.stringify(applyToModel(model, op));
          const actual = fc.stringify(await applyToBackend(kv, op));
          if (actual !== expected) throw new Error(`step ${i} ${fc.stringify(op)}: expected ${expected}, got ${actual}`);
        }
        const keys = [...model.keys()];
        const stored = fc.stringify(await kv.getMany(keys));
        if (stored !== fc.stringify(keys.map((k) => model.get(k)))) throw new Error(`final state ${stored} differs from the model`);
      }),
      { numRuns: propertyRuns },
    );
    t.pass(`${propertyRuns} random sequences matched the model`);
  });
}
