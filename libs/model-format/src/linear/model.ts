/**
 * Linear models from ONNX: ai.onnx.ml LinearRegressor / LinearClassifier and Gemm (+ Sigmoid / Softmax) graphs.
 * margin = coefficients · x + intercepts; prediction = link(margin).
 */
import { ModelFormatError } from '../errors.js';
import type { OutputTransform } from '../tree/ensemble.js';
import { attributeString, attributeStrings, decodeOnnxModel, findAttribute, initializerMap, tensorToFloat64Array, type OnnxModel, type OnnxNode } from '../onnx/model.js';

export interface LinearModel {
  readonly nFeatures: number;
  readonly nOutputs: number;
  /** nOutputs x nFeatures, row-major. */
  readonly coefficients: Float64Array;
  readonly intercepts: Float64Array;
  readonly link: OutputTransform;
  readonly outputNames: readonly string[];
  readonly source: { readonly format: 'onnx-ml' | 'onnx-gemm'; readonly op: string };
}

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid ONNX linear model: ${msg}`);
}

const LINKS: Record<string, OutputTransform> = { NONE: 'identity', LOGISTIC: 'logistic', SOFTMAX: 'softmax', SOFTMAX_ZERO: 'softmax_zero', PROBIT: 'probit' };

/** Loads the linear model of an ONNX graph (LinearRegressor, LinearClassifier, or Gemm [+ Sigmoid/Softmax]). */
export function loadOnnxLinearModel(input: Uint8Array | OnnxModel): LinearModel {
  const model = input instanceof Uint8Array ? decodeOnnxModel(input) : input;
  const g = model.graph;
  const ml = g.nodes.find((n) => n.domain === 'ai.onnx.ml' && (n.opType === 'LinearRegressor' || n.opType === 'LinearClassifier'));
  if (ml) {
    // onnxruntime takes the feature count from the input tensor; honour a declared static width.
    const inp = g.inputs.find((i) => i.name === ml.inputs[0]);
    const shape = inp?.type.kind === 'tensor' ? inp.type.shape : undefined;
    const last = shape && shape.length === 2 ? shape[1] : undefined;
    return fromMl(ml, typeof last === 'number' && last > 0 ? last : undefined);
  }
  const gemms = g.nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul');
  if (gemms.length === 1) return fromGemm(model, gemms[0]!);
  throw new ModelFormatError('UNSUPPORTED', `No linear model found: expected a LinearRegressor/LinearClassifier node or exactly one Gemm/MatMul (found ${gemms.length}).`);
}

function fromMl(node: OnnxNode, inputWidth: number | undefined): LinearModel {
  const coef = findAttribute(node, 'coefficients')?.floats;
  if (!coef) throw invalid(`${node.opType} without coefficients.`);
  const ic = findAttribute(node, 'intercepts')?.floats ?? new Float32Array(0);
  const link = LINKS[attributeString(findAttribute(node, 'post_transform')) ?? 'NONE'];
  if (!link) throw invalid('unknown post_transform.');
  let K: number;
  let names: string[];
  if (node.opType === 'LinearRegressor') {
    K = findAttribute(node, 'targets')?.i ?? 1;
    names = K === 1 ? ['target'] : Array.from({ length: K }, (_, k) => `target_${k}`);
  } else {
    const labels = attributeStrings(findAttribute(node, 'classlabels_strings')) ?? Array.from(findAttribute(node, 'classlabels_ints')?.ints ?? [], String);
    K = ic.length || labels.length;
    names = labels.length === K ? labels : Array.from({ length: K }, (_, k) => `class_${k}`);
  }
  if (!Number.isInteger(K) || K < 1) throw invalid(`invalid output count ${K}.`);
  let F: number;
  if (inputWidth !== undefined && K * inputWidth <= coef.length) F = inputWidth;
  else if (coef.length % K === 0) F = coef.length / K;
  else throw invalid(`${coef.length} coefficients do not split into ${K} outputs.`);
  const intercepts = new Float64Array(K);
  if (ic.length === K) intercepts.set(ic);
  else if (ic.length !== 0) throw invalid(`${ic.length} intercepts for ${K} outputs.`);
  return { nFeatures: F, nOutputs: K, coefficients: Float64Array.from(coef.subarray(0, K * F)), intercepts, link, outputNames: names, source: { format: 'onnx-ml', op: node.opType } };
}

function fromGemm(model: OnnxModel, node: OnnxNode): LinearModel {
  const g = model.graph;
  const inits = initializerMap(g);
  if (!g.inputs.some((i) => i.name === node.inputs[0])) throw new ModelFormatError('UNSUPPORTED', `The ${node.opType} does not read a graph input directly; only single-layer linear graphs are supported.`);
  const B = inits.get(node.inputs[1] ?? '');
  if (!B || B.dims.length !== 2) throw invalid(`${node.opType} weight '${node.inputs[1]}' is not a 2-D initializer.`);
  const w = tensorToFloat64Array(B);
  const transB = node.opType === 'Gemm' ? findAttribute(node, 'transB')?.i ?? 0 : 0;
  if (node.opType === 'Gemm' && (findAttribute(node, 'transA')?.i ?? 0) !== 0) throw new ModelFormatError('UNSUPPORTED', 'Gemm with transA=1 is not supported.');
  const alpha = node.opType === 'Gemm' ? findAttribute(node, 'alpha')?.f ?? 1 : 1;
  const beta = node.opType === 'Gemm' ? findAttribute(node, 'beta')?.f ?? 1 : 1;
  const [d0, d1] = B.dims as [number, number];
  const K = transB ? d0 : d1;
  const F = transB ? d1 : d0;
  const coefficients = new Float64Array(K * F);
  for (let k = 0; k < K; k++) for (let f = 0; f < F; f++) coefficients[k * F + f] = alpha * (transB ? w[k * F + f]! : w[f * K + k]!);
  const intercepts = new Float64Array(K);
  let out = node.outputs[0]!;
  let biasName = node.opType === 'Gemm' ? node.inputs[2] : undefined;
  const next = (name: string) => g.nodes.find((n) => n.inputs[0] === name || (n.opType === 'Add' && n.inputs.includes(name)));
  let after = next(out);
  if (!biasName && after?.opType === 'Add') {
    biasName = after.inputs.find((i) => i !== out);
    out = after.outputs[0]!;
    after = next(out);
  }
  if (biasName) {
    const C = inits.get(biasName);
    if (!C) throw invalid(`bias '${biasName}' is not an initializer.`);
    const c = tensorToFloat64Array(C);
    if (c.length !== K && c.length !== 1) throw invalid(`bias has ${c.length} values for ${K} outputs.`);
    for (let k = 0; k < K; k++) intercepts[k] = beta * (c.length === 1 ? c[0]! : c[k]!);
  }
  let link: OutputTransform = 'identity';
  if (after?.opType === 'Sigmoid') link = 'logistic';
  else if (after?.opType === 'Softmax') link = 'softmax';
  return { nFeatures: F, nOutputs: K, coefficients, intercepts, link, outputNames: K === 1 ? ['output'] : Array.from({ length: K }, (_, k) => `output_${k}`), source: { format: 'onnx-gemm', op: node.opType } };
}

/** Margins `nRows x nOutputs` (before the link). */
export function linearPredictRaw(model: LinearModel, rows: Float64Array, nRows: number): Float64Array {
  const { nFeatures: F, nOutputs: K, coefficients: W, intercepts: b } = model;
  if (rows.length < nRows * F) throw new ModelFormatError('INVALID_INPUT', `rows has ${rows.length} values, ${nRows} x ${F} needed.`);
  const out = new Float64Array(nRows * K);
  for (let r = 0; r < nRows; r++) {
    for (let k = 0; k < K; k++) {
      let s = b[k]!;
      for (let f = 0; f < F; f++) s += W[k * F + f]! * rows[r * F + f]!;
      out[r * K + k] = s;
    }
  }
  return out;
}
