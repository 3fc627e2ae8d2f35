/**
 * TreeSHAP on an XGBoost JSON model through the public entries of @genome/model-format and @genome/shap: the same
 * code runs in Node (test/browser-bundle.test.ts imports it) and, bundled by esbuild with the `browser` condition,
 * in headless Chromium. Returns plain data (structured-cloneable) so both sides compare exactly.
 */
import { loadTreeModel, predictRaw, sniffTreeFormat, type Explanation } from '@genome/model-format';
import { explainTree, treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '@genome/shap';

export interface TreeRunResult {
  format: string;
  nTrees: number;
  margins: number[];
  /**
   * explainTree without timings: path-dependent on the TypeScript kernel (`quadrature-js`); path-dependent with
   * interactions and interventional on the default kernels (`auto`: WebAssembly where the engine runs it).
   */
  pathDependentJs: Omit<Explanation, 'timings'>;
  pathDependent: Omit<Explanation, 'timings'>;
  interventional: Omit<Explanation, 'timings'>;
  /** Each kernel on its own: values then expected values. */
  kernels: Record<string, number[]>;
}

function withoutTimings(e: Explanation): Omit<Explanation, 'timings'> {
  const { timings: _timings, ...rest } = e;
  return rest;
}

export async function runTreeShap(bytes: Uint8Array, rows: number[][], background: number[][]): Promise<TreeRunResult> {
  const model = loadTreeModel(bytes);
  const flat = Float64Array.from(rows.flat());
  const bg = Float64Array.from(background.flat());
  const n = rows.length;
  const kernels: Record<string, number[]> = {};
  for (const algorithm of ['auto', 'quadrature-js', 'classic'] as const) {
    const r = treeShapPathDependent(model, flat, n, { algorithm });
    kernels[`path-dependent ${algorithm}`] = [...r.values, ...r.expectedValue];
  }
  for (const algorithm of ['auto', 'recursion'] as const) {
    const r = treeShapInterventional(model, flat, n, bg, background.length, { algorithm });
    kernels[`interventional ${algorithm}`] = [...r.values, ...r.expectedValue];
  }
  for (const algorithm of ['auto', 'classic'] as const) {
    const r = treeShapInteractions(model, flat, n, { algorithm });
    kernels[`interactions ${algorithm}`] = [...r.values, ...r.expectedValue];
  }
  return {
    format: sniffTreeFormat(bytes),
    nTrees: model.nTrees,
    margins: [...predictRaw(model, flat, n)],
    pathDependentJs: withoutTimings(await explainTree(model, rows, { method: 'path_dependent', algorithm: 'quadrature-js' })),
    pathDependent: withoutTimings(await explainTree(model, rows, { method: 'path_dependent', interactions: true })),
    interventional: withoutTimings(await explainTree(model, rows, { method: 'interventional', background })),
    kernels,
  };
}
