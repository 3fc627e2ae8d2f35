/**
 * Step 1 and 2 of the walkthrough: the seed's forest with covers from its data, and a Genome package built as the
 * seed's GenomeEstimator builds one: target_classes ["price"], the feature names, the TreeSHAP explainer
 * configuration and precomputed sample explanations (the seed's expected_value, shap_values, number_labels are the
 * explanation's baseValues, values and data).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGenomeManifest, loadOnnxTreeEnsemble, withCovers, type Explanation, type TreeEnsemble } from '@genome/model-format';
import { explainTree } from '@genome/shap';

export interface SeedData {
  featureNames: string[];
  /** Feature rows of data.csv (the target column dropped). */
  rows: number[][];
  targets: number[];
}

/** data.csv of the seed's oracle: 8 feature columns and `target`. */
export function readSeedData(file: string): SeedData {
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  const t = header.indexOf('target');
  if (t < 0) throw new Error(`${file} has no target column`);
  const featureNames = header.filter((_, i) => i !== t);
  const rows: number[][] = [];
  const targets: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',').map(Number);
    if (cells.length !== header.length || cells.some((x) => !Number.isFinite(x))) throw new Error(`${file}:${i + 1}: expected ${header.length} numbers`);
    targets.push(cells[t]!);
    rows.push(cells.filter((_, c) => c !== t));
  }
  return { featureNames, rows, targets };
}

/** The seed's ONNX forest with node covers = the number of data rows reaching each node (as the seed's reference). */
export function seedForest(modelFile: string, data: SeedData): TreeEnsemble {
  const onnx = loadOnnxTreeEnsemble(readFileSync(modelFile));
  const covered = withCovers(onnx, Float64Array.from(data.rows.flat()), data.rows.length);
  return { ...covered, featureNames: [...data.featureNames], outputNames: ['price'] };
}

export interface BuiltPackage {
  dir: string;
  samples: Explanation;
}

/**
 * Writes the package into `dir`: the ONNX model, every data row as background.csv (the sidecar gives ONNX trees their
 * covers from every background row, so the served model has the training covers; explainers use the first 100 rows),
 * and genome.json with the explainer configuration and the sample explanations of `sampleRows`.
 */
export async function buildPackage(dir: string, modelFile: string, data: SeedData, model: TreeEnsemble, sampleRows: number[][]): Promise<BuiltPackage> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(modelFile, join(dir, 'model.onnx'));
  writeFileSync(join(dir, 'background.csv'), `${data.featureNames.join(',')}\n${data.rows.map((r) => r.join(',')).join('\n')}\n`);
  const samples = await explainTree(model, sampleRows);
  const manifest = {
    schemaVersion: 'genome.package/v1',
    name: 'california-housing',
    version: '1.2.3',
    description: "The Genome seed's RandomForestRegressor(n_estimators=120, max_depth=5) on California housing (ONNX-ML), packaged as the seed's GenomeEstimator does: target class price, TreeSHAP explainer, sample explanations.",
    framework: 'onnx',
    task: 'regression',
    artifacts: { model: 'model.onnx', background: 'background.csv' },
    input: { modality: 'tabular', tensorName: 'input', features: data.featureNames.map((name) => ({ name, type: 'float' })) },
    output: { space: 'regression', names: ['price'], target: 'median house value in 100k USD' },
    explainer: { default: 'tree_shap.path_dependent', methods: { 'tree_shap.path_dependent': {} }, background: { path: 'background.csv', rows: 100 } },
    samples: sampleRows.map((row, i) => ({
      id: `sample-${i}`,
      input: row,
      explanation: {
        ...samples,
        values: [samples.values[i]!],
        baseValues: [samples.baseValues[i]!],
        ...(samples.predictions ? { predictions: [samples.predictions[i]!] } : {}),
        data: [row],
      },
    })),
    metadata: { trainingData: 'California housing, 20,433 rows (the seed oracle data.csv)', covers: 'count of data rows reaching each node' },
  };
  const problems = checkGenomeManifest(manifest);
  if (problems.length > 0) throw new Error(`genome.json does not validate: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
  writeFileSync(join(dir, 'genome.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, samples };
}
