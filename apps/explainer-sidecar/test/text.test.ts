// Text end to end: a remote text classifier over the Open Inference Protocol (BYTES input; gRPC and REST) scored
// by a real bag-of-words rule, explained with LIME text and Anchors text through Explain (gRPC) and :explain (REST).
// The rule is known, so the explanations are checked against it: LIME's word weights for "spam" carry the signs
// and the order of the rule's weights, and the anchor of a text holding "win" is "win" (win alone forces spam).
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '../src/index.js';
import { client, describeModel, explainCall, grpcError } from './helpers/client.js';
import { margin, startFakeTextOip, type BagOfWords } from './helpers/oip-text-server.js';
import { sidecar } from './helpers/sidecar.js';

const rule: BagOfWords = { name: 'spam', bias: -3, weights: { win: 4, free: 3, prize: 2, meeting: -3, tomorrow: -1 } };
const spamText = 'win a free prize today';
const hamText = 'free meeting tomorrow';

interface TextExplanation {
  method: string;
  featureNames: string[];
  outputNames: string[];
  values: number[][][];
  details: Record<string, unknown[]>;
}

function weightsOf(e: TextExplanation, row: number, out: number): Map<string, number> {
  const m = new Map<string, number>();
  e.featureNames.forEach((f, i) => {
    const v = e.values[row]![i]![out]!;
    if (v !== 0) m.set(f, v);
  });
  return m;
}

t.test('LIME and Anchors on a remote text model (OIP gRPC and REST)', async (t) => {
  t.ok(margin(rule, spamText) > 0 && margin(rule, hamText) < 0, 'the rule labels the two texts spam and ham');
  const oip = await startFakeTextOip(rule);
  t.teardown(() => oip.close());

  for (const protocol of ['grpc-v2', 'v2'] as const) {
    const host = `127.0.0.1:${protocol === 'grpc-v2' ? oip.grpcPort : oip.httpPort}`;
    const s = await sidecar({ models: [{ kind: 'remote', name: 'spam', host, protocol, input: 'text' }] });
    t.teardown(() => s.close(100));
    const c = client(s.grpcPort);
    t.teardown(() => c.close());

    const info = (await describeModel(c, 'spam')).model!;
    t.equal(info.kind, 'text', `${protocol}: a text model`);
    t.same(info.methods, ['lime', 'anchors'], `${protocol}: LIME (default) and Anchors apply`);
    t.same(info.outputNames, ['proba_0', 'proba_1']);

    // LIME text over gRPC, two texts in one call, the spam output selected.
    const before = oip.calls;
    const res = await explainCall(c, { methodName: 'lime', parameters: { num_samples: 1000, seed: 7 }, text: { texts: [spamText, hamText] }, outputs: { indices: [1], names: [], topK: 0 } });
    t.ok(oip.calls > before, `${protocol}: the remote model was called`);
    t.equal(res.method, 'lime.text');
    t.same(res.outputNames, ['proba_1']);
    const e = JSON.parse(res.explanationJson) as TextExplanation;
    t.same(res.shape, [2, e.featureNames.length, 1]);
    t.same(new Set(e.featureNames), new Set(['win', 'a', 'free', 'prize', 'today', 'meeting', 'tomorrow']), `${protocol}: union of both texts' words`);
    const w0 = weightsOf(e, 0, 0);
    t.same([...w0.keys()].sort(), ['a', 'free', 'prize', 'today', 'win'], 'text 0 attributes to its own words only');
    t.ok(w0.get('win')! > w0.get('free')! && w0.get('free')! > w0.get('prize')! && w0.get('prize')! > 0, `${protocol}: win > free > prize > 0 as the rule (${[...w0].map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ')})`);
    // LIME drops a random number of words per sample, so neutral words pick up a little weight (their presence
    // correlates with fewer informative words removed); they still rank below every word the rule weighs.
    for (const neutral of ['a', 'today']) t.ok(Math.abs(w0.get(neutral)!) < w0.get('prize')!, `${protocol}: "${neutral}" (weight 0 in the rule) ranks below the rule's words`);
    const w1 = weightsOf(e, 1, 0);
    t.ok(w1.get('meeting')! < 0 && w1.get('tomorrow')! < 0 && w1.get('free')! > 0, `${protocol}: text 1 signs follow the rule`);
    t.ok(w1.get('meeting')! < w1.get('tomorrow')!, `${protocol}: meeting pushes harder towards ham than tomorrow`);

    // Anchors text over gRPC.
    const a = await explainCall(c, { methodName: 'anchors', parameters: { seed: 1 }, text: { texts: [spamText] } });
    t.equal(a.method, 'anchors.text');
    const ae = JSON.parse(a.explanationJson) as TextExplanation;
    t.same(ae.details.anchor, [['win']], `${protocol}: the anchor is "win"`);
    t.equal((ae.details.precision as number[])[0], 1, `${protocol}: with "win" the rule always says spam`);

    // The same through REST (KServe V1: strings as instances).
    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${s.httpPort}/v1/models/spam:explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r1 = await post({ instances: [spamText, hamText], method: 'lime', parameters: { num_samples: 1000, seed: 7 }, outputs: { indices: [1] } });
    t.equal(r1.status, 200);
    const j1 = (await r1.json()) as { explanations: TextExplanation[] };
    t.equal(j1.explanations.length, 2, `${protocol}: one explanation per text`);
    const rw = weightsOf(j1.explanations[0]!, 0, 0);
    for (const [k, v] of w0) t.equal(rw.get(k), v, `${protocol}: REST weight of "${k}" equals gRPC (same seed)`);
    const r2 = await post({ instances: [spamText], method: 'anchors', parameters: { seed: 1 } });
    t.equal(r2.status, 200);
    t.same(((await r2.json()) as { explanations: TextExplanation[] }).explanations[0]!.details.anchor, [['win']], `${protocol}: REST anchor`);

    // Malformed text requests.
    const tab = await grpcError(explainCall(c, { methodName: 'lime', tabular: { rows: [{ values: [1] }], featureNames: [], values: [] } }));
    t.equal(tab.code, status.INVALID_ARGUMENT);
    t.match(tab.details, /takes text input/);
    const ks = await grpcError(explainCall(c, { methodName: 'kernel_shap', text: { texts: ['x'] } }));
    t.equal(ks.code, status.FAILED_PRECONDITION);
    const r3 = await post({ instances: [42] });
    t.equal(r3.status, 400);
  }
});

t.test('--predictor-input text', async (t) => {
  const c = loadConfig(['--predictor-host', 'h:1', '--model-name', 'spam', '--predictor-input', 'text'], {});
  t.match(c.models[0], { kind: 'remote', name: 'spam', input: 'text' });
  t.throws(() => loadConfig(['--predictor-host', 'h:1', '--predictor-input', 'image'], {}), /tabular or text/);
});
