/**
 * Exactness against the PyTorch-autograd oracles (fixtures/oracles/cams): ONNX body on onnxruntime, head
 * differentiated by the typed-array evaluator (all three heads are in TYPED_HEAD_OPS; the TF.js path is
 * compared with it in typed-head.test.ts).
 */
import t from 'tap';
import { computeCams, loadCamModel, type OnnxCamModel } from '../src/index.js';
import { fixture } from '../../../tools/fixtures.js';
import { argmax, camReference, maxAbsErr, relErr } from './helpers.js';

for (const name of ['small-cnn-squares', 'tiny-resnet', 'squeezenet1_1']) {
  t.test(name, async (t) => {
    const ref = camReference(name);
    const model = await loadCamModel(fixture('oracles', 'cams', name, 'model.onnx'), { target: ref.target_tensor });
    t.teardown(() => model.dispose());
    t.equal((model as OnnxCamModel).gradientEngine, 'typed', 'gradients on the typed-array evaluator');
    const x = Float32Array.from(ref.input.flat(2));
    const g = await computeCams(model, x, 1, { method: 'gradcam', targets: ref.target_class });
    const r = g.results[0]!;
    t.ok(relErr(g.outputs, ref.logits) < 1e-5, `logits (${relErr(g.outputs, ref.logits).toExponential(2)})`);
    t.same([r.weights!.length, r.height, r.width], ref.activation_shape, 'activation shape');
    t.ok(relErr(r.weights!, ref.alpha) < 1e-4, `alpha rel err ${relErr(r.weights!, ref.alpha).toExponential(2)}`);
    t.ok(relErr(r.raw, ref.cam_raw.flat()) < 1e-4, `cam_raw rel err ${relErr(r.raw, ref.cam_raw.flat()).toExponential(2)}`);
    t.ok(relErr(r.cam, ref.gradcam.flat()) < 1e-4, `gradcam rel err ${relErr(r.cam, ref.gradcam.flat()).toExponential(2)}`);
    const up = ref.gradcam_upsampled_normalized;
    t.equal(r.heatmapHeight, up.length);
    t.ok(maxAbsErr(r.heatmap, up.flat()) < 1e-3, `upsampled normalized abs err ${maxAbsErr(r.heatmap, up.flat()).toExponential(2)}`);

    // The oracle's Grad-CAM++ uses eps = 1e-7 in the alpha denominator (pytorch-grad-cam uses 1e-6, our default).
    const pp = (await computeCams(model, x, 1, { method: 'gradcam++', targets: ref.target_class, plusPlusEps: 1e-7 })).results[0]!;
    t.ok(relErr(pp.weights!, ref.gradcam_plus_plus_weights) < 1e-4, `gradcam++ weights rel err ${relErr(pp.weights!, ref.gradcam_plus_plus_weights).toExponential(2)}`);
    t.ok(relErr(pp.cam, ref.gradcam_plus_plus.flat()) < 1e-4, `gradcam++ rel err ${relErr(pp.cam, ref.gradcam_plus_plus.flat()).toExponential(2)}`);

    if (name === 'small-cnn-squares') {
      // the bright square: pixels whose channel sum is in the top 2% of the image
      const [, C, H, W] = ref.input_shape as [number, number, number, number];
      const lum = new Float64Array(H * W);
      for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) lum[i]! += x[c * H * W + i]!;
      const sorted = Array.from(lum).sort((a, b) => b - a);
      const thr = sorted[Math.floor(H * W * 0.02)]!;
      let sy = 0, sx = 0, k = 0;
      for (let i = 0; i < H * W; i++) if (lum[i]! >= thr) { sy += Math.floor(i / W); sx += i % W; k++; }
      const quadrant = (yy: number, xx: number): number => (yy < H / 2 ? 0 : 2) + (xx < W / 2 ? 0 : 1);
      const sq = quadrant(sy / k, sx / k);
      for (const [label, res] of [['gradcam', r], ['gradcam++', pp]] as const) {
        // Heatmap mass per quadrant: the square's quadrant must dominate.
        const mass = [0, 0, 0, 0];
        for (let i = 0; i < H * W; i++) mass[quadrant(Math.floor(i / W), i % W)]! += res.heatmap[i]!;
        t.equal(argmax(mass), sq, `${label}: most heatmap mass in the square's quadrant (${sq}); masses ${mass.map((m) => m.toFixed(1)).join(' ')}`);
        // The peak: in the square's half (rows) and within one CAM cell (4 px) of the square's quadrant. The
        // oracle's own map peaks at (26, 25), one pixel right of the vertical midline, so a strict quadrant test
        // fails on the reference too (ours equals it to 1e-7).
        const peak = argmax(res.heatmap);
        const py = Math.floor(peak / W), px = peak % W;
        t.equal(py < H / 2 ? 0 : 2, sq & 2, `${label}: peak row ${py} in the square's half`);
        const cell = W / res.width;
        const qx0 = sq & 1 ? W / 2 : 0;
        t.ok(px >= qx0 - cell && px < qx0 + W / 2 + cell, `${label}: peak column ${px} within one CAM cell of the square's quadrant`);
      }
    }
  });
}
