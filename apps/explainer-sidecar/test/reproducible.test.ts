// Reproducible sampling end to end: every sampling method (kernel_shap, permutation_shap, lime and anchors, tabular
// and text) gives a row the same explanation alone as at positions 0, k and last of batches of 2 and 5 rows, through
// Explain (gRPC), :explain (REST) and ExplainStream, with internal chunks of 2 rows (chunkRows) and stream messages of
// 3: the sidecar hands every chunk the call's seed and each row draws from the stream of (seed, its content).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fixture, readFixtureJson, readFixtureText } from '../../../tools/fixtures.js';
import { batchesAround, firstDifference, rowOf } from '../../../tools/bit-identical.js';
import { client, explainCall, explainStream, type ExplainRequestInit } from './helpers/client.js';
import { startFakeTextOip, type BagOfWords } from './helpers/oip-text-server.js';
import { sidecar } from './helpers/sidecar.js';

interface Explained {
  method: string;
  values: number[][][];
  baseValues: number[][];
  predictions?: number[][];
  data?: unknown[];
  featureNames: string[];
  outputNames: string[];
  parameters: Record<string, unknown>;
  seed?: number;
  details?: Record<string, unknown>;
}

const CHUNK_ROWS = 2;
const STREAM_CHUNK = 3;
const SIZES = [2, 5];

const rule: BagOfWords = { name: 'spam', bias: -2, weights: { win: 3, free: 2, prize: 1.5, meeting: -2, tomorrow: -1 } };
const TEXT = 'win a free prize, free entry';
const OTHER_TEXTS = ['meeting tomorrow at noon', 'free meeting', 'win win', 'a prize for tomorrow'];

type Tap = Pick<typeof t, 'teardown'>;
type IrisRef = { feature_names: string[]; x: number[][]; background_rows: number[] };

/** Rows of the logistic regression's three classes (0: 1st and 4th, 1: 2nd and 5th, 2: 3rd and 6th). */
const LOGREG_ROWS = [
  [5.1, 3.5],
  [0, 0],
  [8, 0.2],
  [6, 3],
  [-1, 0.5],
  [9, 0],
];

/**
 * A sidecar with chunks of 2 rows serving the iris random forest (ONNX; regression-like outputs) and a three-class
 * logistic regression (ONNX LinearClassifier, probabilities), both with background rows, and `extra` models.
 */
async function setup(t: Tap, extra: Parameters<typeof sidecar>[0]['models'] = []) {
  const ref = readFixtureJson<IrisRef>('oracles', 'trees', 'iris-rf-classifier', 'reference.json');
  const lines = readFixtureText('oracles', 'trees', 'iris-rf-classifier', 'data.csv').trim().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-reproducible-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const irisBg = join(dir, 'iris.csv');
  writeFileSync(irisBg, [lines[0], ...ref.background_rows.map((i) => lines[i + 1])].join('\n'));
  const logregBg = join(dir, 'logreg.csv');
  writeFileSync(logregBg, `x0,x1\n${Array.from({ length: 30 }, (_, i) => `${(i % 10) * 0.8},${(i % 7) * 0.6}`).join('\n')}\n`);
  const s = await sidecar({
    models: [
      { kind: 'file', name: 'iris', path: fixture('oracles', 'trees', 'iris-rf-classifier', 'model.onnx'), featureNames: ref.feature_names, backgroundPath: irisBg },
      { kind: 'file', name: 'logreg', path: fixture('models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx'), featureNames: ['x0', 'x1'], backgroundPath: logregBg },
      ...(extra ?? []),
    ],
    chunkRows: CHUNK_ROWS,
  });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  return { ref, s, c };
}

t.test('a row explained alone = the row in batches, over gRPC, REST and ExplainStream with small chunks', async (t) => {
  const oip = await startFakeTextOip(rule);
  t.teardown(() => oip.close());
  const { ref, s, c } = await setup(t, [{ kind: 'remote', name: 'spam', host: `127.0.0.1:${oip.grpcPort}`, protocol: 'grpc-v2', input: 'text' }]);

  /** A row with a missing cell (NaN over gRPC, null over REST), for the methods that take missing values. */
  const withNaN = [ref.x[0]![0]!, NaN, ref.x[0]![2]!, ref.x[0]![3]!];
  const complete = ref.x[1]!;
  const others = ref.x.slice(2);
  const tabular = (xs: number[][]): ExplainRequestInit => ({ tabular: { rows: xs.map((values) => ({ values })), featureNames: [], values: [] } });
  const text = (xs: string[]): ExplainRequestInit => ({ text: { texts: xs } });

  interface Case<X> {
    model: string;
    method: string;
    params: Record<string, unknown>;
    x: X;
    other: (i: number) => X;
    request: (xs: X[]) => ExplainRequestInit;
    /** Texts: explanations are merged over the union of the texts' words, so values compare by word. */
    byWord?: boolean;
  }
  const cases: Case<number[] | string>[] = [
    { model: 'iris', method: 'kernel_shap', params: { nsamples: 10 }, x: withNaN, other: (i) => others[i]!, request: (xs) => tabular(xs as number[][]) },
    { model: 'iris', method: 'permutation_shap', params: { max_evals: 30 }, x: withNaN, other: (i) => others[i]!, request: (xs) => tabular(xs as number[][]) },
    { model: 'iris', method: 'lime', params: { num_samples: 200 }, x: complete, other: (i) => others[i]!, request: (xs) => tabular(xs as number[][]) },
    // Neighbours of other classes, so a batch's chunks have different top labels.
    { model: 'logreg', method: 'lime', params: { num_samples: 200, top_labels: 1 }, x: LOGREG_ROWS[0]!, other: (i) => LOGREG_ROWS[i]!, request: (xs) => tabular(xs as number[][]) },
    { model: 'logreg', method: 'anchors', params: { batch_size: 30, coverage_samples: 200 }, x: LOGREG_ROWS[0]!, other: (i) => LOGREG_ROWS[i]!, request: (xs) => tabular(xs as number[][]) },
    { model: 'iris', method: 'anchors', params: { batch_size: 30, coverage_samples: 200 }, x: complete, other: (i) => others[i]!, request: (xs) => tabular(xs as number[][]) },
    { model: 'spam', method: 'lime', params: { num_samples: 200 }, x: TEXT, other: (i) => OTHER_TEXTS[i % 4]!, request: (xs) => text(xs as string[]), byWord: true },
    { model: 'spam', method: 'lime', params: { num_samples: 200, top_labels: 1 }, x: TEXT, other: (i) => OTHER_TEXTS[i % 4]!, request: (xs) => text(xs as string[]), byWord: true },
    { model: 'spam', method: 'anchors', params: { batch_size: 30, coverage_samples: 200 }, x: TEXT, other: (i) => OTHER_TEXTS[i % 4]!, request: (xs) => text(xs as string[]), byWord: true },
  ];

  const grpc = async (k: Case<number[] | string>, xs: (number[] | string)[], params = k.params): Promise<Explained> => {
    const res = await explainCall(c, { model: { name: k.model, version: '' }, methodName: k.method, parameters: params, ...k.request(xs) });
    return JSON.parse(res.explanationJson) as Explained;
  };
  const rest = async (k: Case<number[] | string>, xs: (number[] | string)[]): Promise<Explained[]> => {
    const instances = xs.map((x) => (typeof x === 'string' ? x : x.map((v) => (Number.isNaN(v) ? null : v))));
    const res = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/${k.model}:explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances, method: k.method, parameters: k.params }),
    });
    if (res.status !== 200) throw new Error(`REST ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { explanations: Explained[] }).explanations;
  };
  /** Every row of an ExplainStream call, each with the explanation of its message. */
  const stream = async (k: Case<number[] | string>, xs: (number[] | string)[]): Promise<{ e: Explained; r: number }[]> => {
    const msgs = await explainStream(c, { model: { name: k.model, version: '' }, methodName: k.method, parameters: k.params, ...k.request(xs) }, STREAM_CHUNK);
    return msgs.filter((m) => m.result).flatMap((m) => {
      const e = JSON.parse(m.result!.explanationJson) as Explained;
      return e.values.map((_, r) => ({ e, r }));
    });
  };

  for (const k of cases) {
    const name = `${k.model} ${k.method} ${JSON.stringify(k.params)}`;
    const alone = await grpc(k, [k.x]);
    const aloneRest = (await rest(k, [k.x]))[0]!;
    // Every per-row detail of the method (the sidecar keeps details per row, so chunks concatenate).
    const perRow = Object.keys(alone.details ?? {});
    const row = (e: Explained, r: number) => rowOf(e, r, perRow, k.byWord);
    const same = (a: Explained, r: number, b: Explained, what: string) => {
      const d = firstDifference(row(a, r), row(b, 0));
      t.equal(d, null, `${name}: ${what}${d ? ` (first difference ${d})` : ''}`);
    };
    t.ok(alone.seed !== undefined, `${name}: the seed is recorded (${alone.seed})`);
    for (const { rows, at } of batchesAround(k.x, SIZES, k.other)) {
      const e = await grpc(k, rows);
      const r = await rest(k, rows);
      const st = await stream(k, rows);
      t.equal(st.length, rows.length, `${name}: the stream explained every row`);
      for (const p of at) {
        same(e, p, alone, `Explain, row ${p} of ${rows.length}`);
        same(r[p]!, 0, aloneRest, `:explain, instance ${p} of ${rows.length}`);
        same(st[p]!.e, st[p]!.r, alone, `ExplainStream, row ${p} of ${rows.length} (message ${Math.floor(p / STREAM_CHUNK)})`);
      }
    }
    // The seed recorded in a batch's explanation reproduces each of its rows alone.
    const batch = await grpc(k, batchesAround(k.x, [SIZES[1]!], k.other)[0]!.rows);
    const again = await grpc(k, [k.x], { ...k.params, seed: batch.seed });
    const d = firstDifference(row(batch, SIZES[1]! - 1), row(again, 0));
    t.equal(d, null, `${name}: seed ${batch.seed} from the batch's explanation reproduces the row alone${d ? ` (first difference ${d})` : ''}`);
  }
});

t.test('lime top_labels and anchors answer over every class, 0 outside a row\'s own', async (t) => {
  const { c } = await setup(t);
  const call = async (method: string, params: Record<string, unknown>) => {
    const res = await explainCall(c, { model: { name: 'logreg', version: '' }, methodName: method, parameters: params, tabular: { rows: LOGREG_ROWS.map((values) => ({ values })), featureNames: [], values: [] } });
    return JSON.parse(res.explanationJson) as Explained & { details: Record<string, unknown[]> };
  };
  const lime = await call('lime', { num_samples: 200, top_labels: 1 });
  const anchors = await call('anchors', { batch_size: 30, coverage_samples: 200 });
  const top = lime.details.topLabels as number[][];
  t.same(top, [[0], [1], [2], [0], [1], [2]], 'each row\'s top class, in chunks of different classes');
  t.same(lime.details.labels, top, 'details.labels: each row\'s own labels');
  t.same(anchors.details.alibi!.map((a) => (a as { data: { raw: { prediction: number[] } } }).data.raw.prediction[0]), [0, 1, 2, 0, 1, 2], 'anchors: the same classes');
  for (const [name, e] of [['lime', lime], ['anchors', anchors]] as const) {
    t.same(e.outputNames, ['0', '1', '2'], `${name}: every class is an output`);
    const wrong = top.flatMap(([own], r) => {
      const others = [0, 1, 2].filter((o) => o !== own);
      const zero = others.every((o) => e.baseValues[r]![o] === 0 && e.predictions![r]![o] === 0 && e.values[r]!.every((f) => f[o] === 0));
      return zero && e.predictions![r]![own!]! > 0 ? [] : [r];
    });
    t.same(wrong, [], `${name}: every row answers for its own class and holds 0 for the others`);
  }
});
