/**
 * encodeRows: rows as users hold them -> the Float64Array the tree IR takes. Property tests over random schemas:
 * valid rows round-trip (codes decode back to the same category names), and every bad value is a ModelFormatError
 * INVALID_INPUT that names the row and the feature.
 */
import t from 'tap';
import fc from 'fast-check';
import { encodeRows, ModelFormatError, type RawCell, type RawRow, type RowSchema } from '../src/index.js';

const RUNS = 200;

/** 0 numeric, 1 text categories, 2 integer-valued categories, 3 categorical without names. */
type Kind = 0 | 1 | 2 | 3;
interface Feature {
  name: string;
  kind: Kind;
  names?: string[];
}
interface Schema {
  features: Feature[];
  model: RowSchema;
}

const featureArb: fc.Arbitrary<Omit<Feature, 'name'>> = fc.oneof(
  fc.constant({ kind: 0 as Kind }),
  // Text names: a letter first, so the list never reads as numbers.
  fc.uniqueArray(fc.string({ minLength: 0, maxLength: 12 }).map((s) => `c${s}`), { minLength: 1, maxLength: 30 }).map((names) => ({ kind: 1 as Kind, names })),
  fc.uniqueArray(fc.integer({ min: -50, max: 5000 }), { minLength: 1, maxLength: 30 }).map((v) => ({ kind: 2 as Kind, names: v.map(String) })),
  fc.constant({ kind: 3 as Kind }),
);

const schemaArb: fc.Arbitrary<Schema> = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), { minLength: 1, maxLength: 6 })
  .chain((names) => fc.tuple(...names.map((name) => featureArb.map((f): Feature => ({ name, ...f })))))
  .map((features) => ({
    features,
    model: {
      featureNames: features.map((f) => f.name),
      featureTypes: features.map((f) => (f.kind === 0 ? ('float' as const) : ('categorical' as const))),
      featureCategories: features.map((f) => f.names),
    },
  }));

const missingArb = fc.constantFrom<RawCell>(null, undefined, Number.NaN);

/** A valid cell and what it must encode to: the code (categorical), the number, or NaN. */
function validCell(f: Feature): fc.Arbitrary<{ cell: RawCell; want: number }> {
  const missing = missingArb.map((cell) => ({ cell, want: Number.NaN }));
  if (f.kind === 0) return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => ({ cell: x, want: x })), missing);
  if (f.kind === 3) return fc.oneof(fc.nat({ max: 1000 }).map((c) => ({ cell: c, want: c })), missing);
  const names = f.names!;
  const code = fc.nat({ max: names.length - 1 });
  return fc.oneof(
    code.map((c) => ({ cell: names[c]!, want: c })), // by name
    code.map((c) => (f.kind === 2 ? { cell: Number(names[c]), want: c } : { cell: c, want: c })), // by value / by code
    missing,
  );
}

function validRow(s: Schema): fc.Arbitrary<{ row: RawCell[]; want: number[] }> {
  return fc.tuple(...s.features.map(validCell)).map((cells) => ({ row: cells.map((c) => c.cell), want: cells.map((c) => c.want) }));
}

const asObject = (s: Schema, row: readonly RawCell[]): Record<string, RawCell> => Object.fromEntries(s.features.map((f, j) => [f.name, row[j]]));

/** A value the feature must refuse. */
function badCell(f: Feature): fc.Arbitrary<unknown> {
  const wrongType = fc.oneof(
    fc.boolean(),
    fc.constant({}),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.constantFrom(Infinity, -Infinity),
  );
  if (f.kind === 0) return fc.oneof(wrongType, fc.string({ maxLength: 300 }), fc.constantFrom('3.5', '0', 'NaN'));
  if (f.kind === 3) return fc.oneof(wrongType, fc.string({ maxLength: 300 }), fc.integer({ min: -100, max: -1 }), fc.double({ min: 0.01, max: 99.99, noNaN: true }).filter((x) => !Number.isInteger(x)));
  const names = f.names!;
  const unknownName = fc.string({ maxLength: 300 }).filter((s) => !names.includes(s));
  if (f.kind === 1) {
    const badCode = fc.oneof(fc.integer({ min: names.length, max: names.length + 100 }), fc.integer({ min: -100, max: -1 }), fc.constant(0.5));
    return fc.oneof(wrongType, unknownName, badCode);
  }
  return fc.oneof(wrongType, unknownName, fc.integer({ min: -1000, max: 10000 }).filter((x) => !names.includes(String(x))), fc.constant(0.25));
}

/** The call must throw INVALID_INPUT naming the row and (each of) the given features. */
function refuses(fn: () => unknown, row: number, features: string[]): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ModelFormatError)) throw e;
    if (e.code !== 'INVALID_INPUT') throw new Error(`code ${e.code}: ${e.message}`);
    if (!e.message.includes(`row ${row}`)) throw new Error(`message does not name row ${row}: ${e.message}`);
    for (const f of features) if (!e.message.includes(JSON.stringify(f))) throw new Error(`message does not name feature ${f}: ${e.message}`);
    return e.message;
  }
  throw new Error('expected a ModelFormatError');
}

t.test('valid rows round-trip: codes decode back to the category names, numbers stay, missing is NaN', async (t) => {
  fc.assert(
    fc.property(
      schemaArb.chain((s) => fc.tuple(fc.constant(s), fc.array(validRow(s), { minLength: 1, maxLength: 8 }))),
      ([s, rows]) => {
        const F = s.features.length;
        for (const encoded of [encodeRows(s.model, rows.map((r) => r.row)), encodeRows(s.model, rows.map((r) => asObject(s, r.row)))]) {
          if (encoded.length !== rows.length * F) return false;
          for (let r = 0; r < rows.length; r++) {
            for (let j = 0; j < F; j++) {
              const got = encoded[r * F + j]!;
              const want = rows[r]!.want[j]!;
              if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want) && got !== want) return false;
              // The category name the code stands for is the one the row meant.
              const f = s.features[j]!;
              const cell = rows[r]!.row[j];
              if (f.names && typeof cell === 'string' && f.names[got] !== cell) return false;
              if (f.kind === 2 && typeof cell === 'number' && !Number.isNaN(cell) && f.names![got] !== String(cell)) return false;
            }
          }
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass('valid rows encode and decode');
});

t.test('every bad value is INVALID_INPUT naming the row and the feature, quoting at most ~100 characters', async (t) => {
  fc.assert(
    fc.property(
      schemaArb.chain((s) =>
        fc.tuple(
          fc.constant(s),
          fc.array(validRow(s), { minLength: 1, maxLength: 5 }),
          fc.nat(),
          fc.nat().chain((j) => {
            const f = s.features[j % s.features.length]!;
            return fc.tuple(fc.constant(j % s.features.length), badCell(f));
          }),
          fc.boolean(),
        ),
      ),
      ([s, rows, at, [j, bad], object]) => {
        const r = at % rows.length;
        const cells = rows.map((x) => [...x.row] as unknown[]);
        cells[r]![j] = bad;
        const input = (object ? cells.map((c) => asObject(s, c as RawCell[])) : cells) as RawRow[];
        const message = refuses(() => encodeRows(s.model, input), r, [s.features[j]!.name]);
        if (typeof bad === 'string' && bad.length > 110 && message.includes(bad)) throw new Error('the whole long value was quoted');
        if (message.length > 2500) throw new Error(`message too long (${message.length})`);
        const f = s.features[j]!;
        // An unknown category lists the known ones: at most 20, then "…".
        if (f.names && /not a category the model was trained on/.test(message)) {
          if (!message.includes(JSON.stringify(f.names[0]!.slice(0, 60)).slice(0, -1))) throw new Error(`known categories not listed: ${message}`);
          if (f.names.length > 20 && !message.includes('…')) throw new Error(`long category list not cut: ${message}`);
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass('bad values refused');
});

t.test('wrong width, unknown and missing keys, and rows that are not rows', async (t) => {
  fc.assert(
    fc.property(
      schemaArb.chain((s) => fc.tuple(fc.constant(s), validRow(s), fc.nat({ max: 3 }), fc.integer({ min: 1, max: 3 }), fc.nat())),
      ([s, { row }, cut, extra, pick]) => {
        const names = s.features.map((f) => f.name);
        const F = names.length;
        // Too short: names the first missing feature. Too long: names the features.
        const short = row.slice(0, Math.max(0, F - 1 - (cut % F)));
        refuses(() => encodeRows(s.model, [row, short]), 1, [names[short.length]!]);
        refuses(() => encodeRows(s.model, [[...row, ...Array.from({ length: extra }, () => 1)]]), 0, [names[F - 1]!]);
        // Object rows: a missing feature and an unknown key are both listed.
        const obj = asObject(s, row);
        const gone = names[pick % F]!;
        const { [gone]: _, ...without } = obj;
        refuses(() => encodeRows(s.model, [obj, without]), 1, [gone]);
        const m = refuses(() => encodeRows(s.model, [{ ...obj, not_a_feature: 1 }]), 0, names.slice(0, 20));
        if (!m.includes('"not_a_feature"')) throw new Error(`unknown key not listed: ${m}`);
        for (const notRow of [null, 5, 'a,b', true]) refuses(() => encodeRows(s.model, [row, notRow as never]), 1, names.slice(0, 20));
        return true;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass('shape errors refused');
});

t.test('missing values in categorical columns are missing, not errors; the encoded rows predict', async (t) => {
  const model: RowSchema = {
    featureNames: ['colour', 'size', 'n'],
    featureTypes: ['categorical', 'categorical', 'float'],
    featureCategories: [['red', 'green', 'blue'], undefined, undefined],
  };
  const x = encodeRows(model, [
    [null, undefined, NaN],
    { colour: NaN, size: null, n: undefined },
    ['blue', 7, -2.5],
    [1, 0, 0],
  ]);
  t.same(Array.from(x), [NaN, NaN, NaN, NaN, NaN, NaN, 2, 7, -2.5, 1, 0, 0]);
  t.same(Array.from(encodeRows(model, [])), []);
  t.throws(() => encodeRows(model, [['purple', 1, 1]]), { code: 'INVALID_INPUT', message: /row 0, feature "colour": "purple" is not a category.*"red", "green", "blue"/ });
  t.throws(() => encodeRows(model, [['red', 'big', 1]]), { code: 'INVALID_INPUT', message: /row 0, feature "size": "big" .*carries no category names/ });
  t.throws(() => encodeRows(model, [['red', 1, '3.5']]), { code: 'INVALID_INPUT', message: /row 0, feature "n": "3.5" is a string.*not converted/ });
  t.throws(() => encodeRows(model, [['red', 1, Infinity]]), { code: 'INVALID_INPUT', message: /row 0, feature "n": Infinity is infinite/ });
  t.throws(() => encodeRows(model, [['red', 1, 1], ['red', 1.5, 1]]), { code: 'INVALID_INPUT', message: /row 1, feature "size": 1.5 is not a category code/ });
  t.throws(() => encodeRows(model, [[3, 1, 1]]), { code: 'INVALID_INPUT', message: /row 0, feature "colour": 3 is neither a category name nor a category code \(an integer in \[0, 3\)\)/ });
  t.throws(() => encodeRows(model, 'rows' as never), { code: 'INVALID_INPUT', message: /rows must be an array/ });
  // A long unknown value is quoted in part; a long category list is cut after 20.
  const many: RowSchema = { featureNames: ['k'], featureCategories: [Array.from({ length: 50 }, (_, i) => `k${i}`)] };
  const long = 'x'.repeat(5000);
  try {
    encodeRows(many, [[long]]);
    t.fail('expected an error');
  } catch (e) {
    const m = (e as Error).message;
    t.ok(m.length < 700, `message length ${m.length}`);
    t.match(m, /"k19", … \(50 in all\)/);
    t.notMatch(m, /"k20"/);
    t.match(m, /\(5000 characters\)/);
  }
});
