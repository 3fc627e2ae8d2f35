// Prediction with a model written by train.mjs (shared by train.mjs and evaluate.mjs).

/** The prediction of `model` for one row of raw (unstandardized) feature values. */
export function predict(model, x) {
  const z = x.map((v, j) => (v - model.mean[j]) / model.std[j]);
  if (model.algorithm === 'ridge') return model.weights[0] + z.reduce((s, v, j) => s + v * model.weights[j + 1], 0);
  const nearest = model.points
    .map((p, i) => ({ d: p.reduce((s, v, j) => s + (v - z[j]) ** 2, 0), y: model.targets[i] }))
    .sort((a, b) => a.d - b.d)
    .slice(0, model.k);
  return nearest.reduce((s, n) => s + n.y, 0) / nearest.length;
}
