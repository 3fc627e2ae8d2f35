/**
 * KernelSHAP against the independent interventional oracle (brute force over subsets in float64 by
 * scikit-learn, see fixtures/oracles/README.md) on the real ONNX tree models, evaluated by model-format's
 * tree predictor in raw (margin) space with the oracle's background rows.
 */
import t from 'tap';
import { ExactExplainer, KernelExplainer } from '../src/index.js';
import { INTERVENTIONAL_CASES, loadOracleCase, maxAbsDiff } from './kernel-helpers.js';

for (const name of INTERVENTIONAL_CASES) {
  t.test(name, async (t) => {
    const c = loadOracleCase(name);
    const { ref } = c;
    const iv = ref.interventional!;
    const M = ref.n_features;
    const ex = new KernelExplainer(c.predictor, c.background, { featureNames: ref.feature_names });
    // the model file itself is float32: bound its distance from the oracle's float64 model
    const fx = await c.predictor.predict(Float64Array.from(ref.x.flat()), ref.x.length);
    const predErr = maxAbsDiff(Array.from(fx.data), ref.raw_prediction.flat());
    t.ok(predErr <= c.float32Bound, `model file vs oracle prediction ${predErr.toExponential(2)} <= float32 bound ${c.float32Bound.toExponential(2)}`);
    const tol = 2 * c.float32Bound + 1e-9;

    const auto = await ex.explain(ref.x);
    const full = 2 ** M - 2 <= 2 * M + 2048;
    t.equal((auto.details!.fullEnumeration as boolean[]).every(Boolean), full, 'auto budget enumerates fully when 2^M - 2 <= 2M + 2048');
    const errAuto = maxAbsDiff(auto.values, iv.shap_values);
    t.ok(maxAbsDiff(auto.baseValues[0], iv.expected_value) <= c.float32Bound + 1e-12, 'base value = oracle expected_value');
    t.ok(errAuto <= tol, `max |kernel(auto=2M+2048) - oracle| = ${errAuto.toExponential(3)} <= ${tol.toExponential(2)}`);
    t.comment(`${name}: M=${M}, max abs error at nsamples=auto(2048+2M, full enumeration=${full}): ${errAuto.toExponential(3)}`);

    // same float32 model, no model error: full-enumeration KernelSHAP equals the exact explainer
    const exact = await new ExactExplainer(c.predictor, c.background).explain(ref.x);
    const errVsExact = maxAbsDiff(auto.values, exact.values);
    t.ok(errVsExact < 1e-9, `kernel(full) vs exact explainer on the same model: ${errVsExact.toExponential(2)}`);

    if (M > 4) {
      // error shrinks with the sampling budget (mean over seeds of the max error over rows/features)
      const budgets = [2 * M + 2, 64, 256, 1000];
      const errs: number[] = [];
      for (const nsamples of budgets) {
        let s = 0;
        for (const seed of [1, 2, 3]) s += maxAbsDiff((await ex.explain(ref.x, { nsamples, seed })).values, iv.shap_values);
        errs.push(s / 3);
      }
      t.comment(`${name}: mean max abs error by nsamples ${budgets.map((b, i) => `${b}:${errs[i]!.toExponential(2)}`).join(', ')}`);
      for (let i = 1; i < errs.length; i++) t.ok(errs[i]! < errs[i - 1]!, `error shrinks from ${budgets[i - 1]} to ${budgets[i]} samples`);
    }
  });
}
