/**
 * The typed-array TreeSHAP API (single thread): flat row-major inputs, flat outputs
 * `values[(row * nFeatures + feature) * nOutputs + output]`.
 */
import type { OutputSpace, TreeEnsemble } from '@genome/model-format';
import { ShapError } from '../errors.js';
import { prepareEnsemble, type PreparedEnsemble } from './prepared.js';
import {
  applyLink,
  backgroundDirections,
  interactionsRange,
  interventionalRange,
  marginsFromDirections,
  pathDependentRange,
  resolvePathAlgorithm,
  type InteractionAlgorithm,
  type InterventionalAlgorithm,
  type Link,
  type PathAlgorithm,
} from './compute.js';
import { backgroundDirectionsWasm, interventionalWasmSupports } from './interventional-wasm.js';
import { quadratureWasmInteractionsSupports } from './quadrature-wasm.js';

export { PATH_ALGORITHMS, type InteractionAlgorithm, type InterventionalAlgorithm, type PathAlgorithm } from './compute.js';

export interface TreeShapValues {
  /** `nRows * nFeatures * nOutputs` attributions, `[row][feature][output]`. */
  readonly values: Float64Array;
  /** Expected value per output (the base the attributions add up from). */
  readonly expectedValue: Float64Array;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly nOutputs: number;
  /** `raw` (margin) or `probability` after the model's link. */
  readonly outputSpace: 'raw' | 'probability';
}

export interface TreeShapInteractionValues {
  /** `nRows * nFeatures * nFeatures * nOutputs`, `[row][i][j][output]`; diagonal = main effects. */
  readonly values: Float64Array;
  readonly expectedValue: Float64Array;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly nOutputs: number;
}

export interface PathDependentOptions {
  /**
   * Kernel: `auto` (default) = the WebAssembly SIMD `quadrature` kernel where it covers the model, else `classic` for a
   * value vector per node and `quadrature-js` otherwise; `quadrature` (WebAssembly where it covers the model, else
   * TypeScript), `quadrature-js` (the TypeScript version always), `classic` (EXTEND/UNWIND recursion).
   */
  algorithm?: PathAlgorithm;
}

export interface InterventionalOptions {
  /**
   * `raw` (default): margins. `probability`: after the model's logistic/softmax link, rescaled per background
   * row as shap does (additive: expected + sum = link(f(x))).
   */
  output?: 'raw' | 'probability';
  /**
   * `auto` (default): the WebAssembly kernel, one recursion per row and tree carrying the set of background rows
   * that share its state, where it covers the model and background (up to 4096 background rows); `recursion`: the
   * TypeScript recursion per row, background row and tree.
   */
  algorithm?: InterventionalAlgorithm;
}

/** Checks that `rows` holds `nRows` rows of the model's width. NaN is allowed (missing values follow the model). */
export function checkRows(model: TreeEnsemble, rows: Float64Array, nRows: number, what = 'rows'): void {
  if (!(rows instanceof Float64Array)) {
    throw new ShapError('INVALID_INPUT', `${what} must be a Float64Array (row-major, nRows x nFeatures).`);
  }
  if (!Number.isInteger(nRows) || nRows < 0) throw new ShapError('INVALID_INPUT', `${what}: nRows must be a non-negative integer, got ${nRows}.`);
  if (rows.length !== nRows * model.nFeatures) {
    throw new ShapError(
      'INVALID_INPUT',
      `${what} has ${rows.length} values but ${nRows} rows x ${model.nFeatures} features = ${nRows * model.nFeatures} were expected; ` +
        `every row must have exactly the model's ${model.nFeatures} features, in the model's order.`,
    );
  }
}

/** Prepares a model for path-dependent TreeSHAP, with a helpful error when it has no covers. */
export function preparePathDependent(model: TreeEnsemble): PreparedEnsemble {
  const prep = prepareEnsemble(model);
  if (!model.hasCovers || prep.fractions === undefined) {
    throw new ShapError(
      'INVALID_INPUT',
      'Path-dependent TreeSHAP needs node covers (how many training rows reached each node), and this model has none ' +
        `(${model.source.format} files such as ONNX do not store them). Compute them from representative data with ` +
        '`withCovers(model, rows, nRows)` from @genome/model-format, or use interventional TreeSHAP with a background set.',
    );
  }
  return prep;
}

export interface TreeShapPreparation {
  /** What `auto` runs for path-dependent values on this thread (`quadrature` = WebAssembly), or `none` (no covers). */
  readonly pathKernel: 'quadrature' | 'quadrature-js' | 'classic' | 'none';
  /** Kernel of interaction values on this thread: `quadrature` (WebAssembly), `classic`, or `none` (no covers). */
  readonly interactionKernel: 'quadrature' | 'classic' | 'none';
  /** Time spent preparing, ms. */
  readonly milliseconds: number;
}

/**
 * Rows a preparation explains and throws away: up to one full batch of the WebAssembly kernel (64 rows), enough work
 * for the engine to compile the kernel's optimised tier, so the first real call runs on compiled, touched code and
 * buffers; fewer on large models, so that it stays near 2^22 node visits (a few ms; it runs where the model is loaded).
 * Interaction values warm up on two rows (each costs 1 + 2·features-per-tree passes).
 */
function warmRows(prep: PreparedEnsemble): number {
  const rows = Math.min(64, Math.max(2, Math.floor(2 ** 22 / prep.model.treeOffsets[prep.model.nTrees])));
  return rows - (rows & 1);
}
const WARM_INTERACTION_ROWS = 2;

/**
 * Does at model load what the first TreeSHAP call on `model` would otherwise pay: validates and prepares the ensemble
 * (scaled leaf values, cover fractions, expected value), lays the model out in this thread's WebAssembly kernel with
 * its per-edge coefficients, and explains a batch of throw-away rows (interaction values too with `interactions`) so
 * code and buffers are warm. The prepared ensemble and kernel are cached per model object (calling it again only
 * repeats the warm-up); a model without covers is prepared for interventional TreeSHAP only. Worker pools do the
 * same on every worker with {@link TreeShapPool.register}.
 */
export function prepareTreeShap(model: TreeEnsemble, options: { interactions?: boolean } = {}): TreeShapPreparation {
  const t0 = performance.now();
  const prep = prepareEnsemble(model);
  if (prep.fractions === undefined) return { pathKernel: 'none', interactionKernel: 'none', milliseconds: performance.now() - t0 };
  const pathKernel = resolvePathAlgorithm(prep, 'auto');
  const nWarm = warmRows(prep);
  const rows = new Float64Array(nWarm * prep.nFeatures);
  pathDependentRange(prep, rows, 0, nWarm, new Float64Array(nWarm * prep.nFeatures * prep.nOutputs), pathKernel);
  if (options.interactions) {
    const n = WARM_INTERACTION_ROWS;
    interactionsRange(prep, rows, 0, n, new Float64Array(n * prep.nFeatures * prep.nFeatures * prep.nOutputs));
  }
  return {
    pathKernel,
    interactionKernel: quadratureWasmInteractionsSupports(prep) ? 'quadrature' : 'classic',
    milliseconds: performance.now() - t0,
  };
}

/** Path-dependent ("tree_path_dependent") SHAP values in margin space. */
export function treeShapPathDependent(
  model: TreeEnsemble,
  rows: Float64Array,
  nRows: number,
  options: PathDependentOptions = {},
): TreeShapValues {
  const prep = preparePathDependent(model);
  checkRows(model, rows, nRows);
  const algorithm = resolvePathAlgorithm(prep, options.algorithm ?? 'auto');
  const values = new Float64Array(nRows * prep.nFeatures * prep.nOutputs);
  pathDependentRange(prep, rows, 0, nRows, values, algorithm);
  return {
    values,
    expectedValue: Float64Array.from(prep.coverExpectation!),
    nRows,
    nFeatures: prep.nFeatures,
    nOutputs: prep.nOutputs,
    outputSpace: 'raw',
  };
}

export interface InteractionOptions {
  /**
   * `auto` (default) = `quadrature`: each tree's conditioned passes (feature j always present / always absent) run
   * in the WebAssembly quadrature kernel where it covers the model; `classic`: the EXTEND/UNWIND recursion.
   */
  algorithm?: InteractionAlgorithm;
}

/** Path-dependent SHAP interaction values in margin space. */
export function treeShapInteractions(
  model: TreeEnsemble,
  rows: Float64Array,
  nRows: number,
  options: InteractionOptions = {},
): TreeShapInteractionValues {
  const prep = preparePathDependent(model);
  checkRows(model, rows, nRows);
  const nF = prep.nFeatures;
  const values = new Float64Array(nRows * nF * nF * prep.nOutputs);
  interactionsRange(prep, rows, 0, nRows, values, options.algorithm ?? 'auto');
  return { values, expectedValue: Float64Array.from(prep.coverExpectation!), nRows, nFeatures: nF, nOutputs: prep.nOutputs };
}

/** The link used for `probability` output, or an error when the model has none TreeSHAP can apply. */
export function probabilityLink(model: TreeEnsemble): Link {
  switch (model.transform) {
    case 'identity':
      return 'identity';
    case 'logistic':
      if (model.nOutputs !== 1) break;
      return 'logistic';
    case 'softmax':
      return 'softmax';
    default:
      break;
  }
  throw new ShapError(
    'INVALID_INPUT',
    `Probability-space TreeSHAP supports logistic (binary) and softmax links; this model's transform is "${model.transform}" ` +
      `with ${model.nOutputs} outputs. Explain the raw margin (output: 'raw') instead.`,
  );
}

/** Prepared background: routing and margins, reusable across calls. */
export interface PreparedBackground {
  readonly nBackground: number;
  readonly dirs: Uint8Array;
  readonly margins: Float64Array;
}

export function prepareBackground(model: TreeEnsemble, background: Float64Array, nBackground: number): PreparedBackground {
  const prep = prepareEnsemble(model);
  checkRows(model, background, nBackground, 'background');
  if (nBackground < 1) throw new ShapError('INVALID_INPUT', 'Interventional TreeSHAP needs at least one background row.');
  // The WebAssembly kernel routes faster and keeps the per-node bitsets it will use for this background.
  const dirs = interventionalWasmSupports(prep, nBackground)
    ? backgroundDirectionsWasm(prep, background, nBackground)
    : backgroundDirections(prep, background, nBackground);
  const margins = new Float64Array(nBackground * prep.nOutputs);
  marginsFromDirections(prep, dirs, nBackground, margins);
  return { nBackground, dirs, margins };
}

/** Expected value over the background: mean of f(z) (raw) or of link(f(z)) (probability). */
export function backgroundExpectation(model: TreeEnsemble, bg: PreparedBackground, link: Link): Float64Array {
  const nO = model.nOutputs;
  const ev = new Float64Array(nO);
  const p = new Float64Array(nO);
  for (let b = 0; b < bg.nBackground; b++) {
    applyLink(link, bg.margins, b * nO, nO, p);
    for (let o = 0; o < nO; o++) ev[o] += p[o] / bg.nBackground;
  }
  return ev;
}

/** Interventional SHAP values: exact Shapley values of f(x_S, z_notS) averaged over the background rows z. */
export function treeShapInterventional(
  model: TreeEnsemble,
  rows: Float64Array,
  nRows: number,
  background: Float64Array | PreparedBackground,
  nBackground?: number,
  options: InterventionalOptions = {},
): TreeShapValues {
  const prep = prepareEnsemble(model);
  checkRows(model, rows, nRows);
  const bg = background instanceof Float64Array ? prepareBackground(model, background, nBackground ?? 0) : background;
  const output = options.output ?? 'raw';
  const link: Link = output === 'probability' ? probabilityLink(model) : 'identity';
  const values = new Float64Array(nRows * prep.nFeatures * prep.nOutputs);
  interventionalRange(prep, rows, 0, nRows, bg.dirs, bg.margins, bg.nBackground, link, values, options.algorithm ?? 'auto');
  return {
    values,
    expectedValue: backgroundExpectation(model, bg, link),
    nRows,
    nFeatures: prep.nFeatures,
    nOutputs: prep.nOutputs,
    outputSpace: output,
  };
}

/** What `outputSpace` an Explanation of this model reports for margin-space values. */
export function rawOutputSpace(model: TreeEnsemble): OutputSpace {
  if (model.transform !== 'identity') return 'raw';
  return /classifier/i.test(model.source.objective ?? '') || model.binaryLabels !== undefined ? 'probability' : 'regression';
}
