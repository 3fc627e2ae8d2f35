/**
 * The `genome.json` manifest of a Genome model package, as TypeScript types. The JSON Schema
 * (`schema/genome-package.schema.json`, draft 2020-12) is the normative definition; these types mirror it.
 */
import type { Explanation } from '../explanation.js';
import type { OutputSpace } from '../predictor.js';
import type { XGBoostIterationRange } from '../xgboost/model.js';

export const GENOME_PACKAGE_SCHEMA_VERSION = 'genome.package/v1' as const;

export type GenomeFramework = 'xgboost' | 'lightgbm' | 'onnx' | 'tfjs' | 'remote';
export type GenomeModality = 'tabular' | 'text' | 'image';
export type GenomeFeatureType = 'float' | 'int' | 'categorical' | 'bool';
export type GenomeExplainerMethod =
  | 'tree_shap.path_dependent'
  | 'tree_shap.interventional'
  | 'kernel_shap'
  | 'linear_shap'
  | 'exact_shap'
  | 'permutation_shap'
  | 'lime.tabular'
  | 'lime.text'
  | 'lime.image'
  | 'anchors.tabular'
  | 'gradcam'
  | 'gradcam_plus_plus';

export interface GenomeFeature {
  name: string;
  type: GenomeFeatureType;
  /** Categorical levels: code i in a row means levels[i]. Required for (and only allowed on) categorical features. */
  levels?: string[];
  description?: string;
  unit?: string;
  min?: number;
  max?: number;
}

export interface GenomeImageInput {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  layout: 'NCHW' | 'NHWC';
  channelOrder?: 'RGB' | 'BGR' | 'GRAY' | 'RGBA';
  /** Multiply 0..255 pixel values by this first (e.g. 1/255). */
  scale?: number;
  /** Per-channel mean subtracted after scaling; length = channels. */
  mean?: number[];
  /** Per-channel std divided by after the mean; length = channels. */
  std?: number[];
  resize?: 'stretch' | 'center-crop' | 'letterbox';
}

export interface GenomeRemote {
  protocol: 'grpc' | 'rest';
  url: string;
  model: string;
  version?: string;
  inputName?: string;
  outputName?: string;
  datatype?: 'FP32' | 'FP64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64';
  timeoutMs?: number;
  maxBatch?: number;
  retries?: number;
}

export interface GenomeSample {
  id?: string;
  /** A row of feature values (null = missing), a text, or `{path}` of an image in the package. */
  input?: (number | null)[] | string | { path: string };
  /** The precomputed explanation, inline or `{path}` of a JSON file in the package. */
  explanation: Explanation | { path: string };
}

/** How the model file is read (`modelOptions`). */
export interface GenomeModelOptions {
  /**
   * XGBoost only: the boosting rounds to use, `[begin, end]` (end exclusive, counted in rounds; end 0 = through the
   * last round) or `"best"` (rounds `[0, best_iteration + 1)` when the model records early stopping, else all, as
   * scikit-learn's `XGBRegressor.predict`). Default: every round (`Booster.predict`).
   */
  iterationRange?: XGBoostIterationRange;
}

export interface GenomeManifest {
  $schema?: string;
  schemaVersion: typeof GENOME_PACKAGE_SCHEMA_VERSION;
  name: string;
  version: string;
  description?: string;
  license?: string;
  framework: GenomeFramework;
  task?: 'regression' | 'binary' | 'multiclass' | 'multilabel' | 'other';
  artifacts?: {
    model: string;
    background?: string;
    labels?: string;
    extra?: Record<string, string>;
  };
  remote?: GenomeRemote;
  modelOptions?: GenomeModelOptions;
  input: {
    modality: GenomeModality;
    tensorName?: string;
    features?: GenomeFeature[];
    image?: GenomeImageInput;
    text?: { maxLength?: number; lowercase?: boolean; tokenPattern?: string };
  };
  output: {
    space: OutputSpace;
    names?: string[];
    classes?: string[];
    target?: string;
    tensorName?: string;
  };
  explainer?: {
    default: GenomeExplainerMethod;
    parameters?: Record<string, unknown>;
    methods?: Partial<Record<GenomeExplainerMethod, Record<string, unknown>>>;
    background?: { path: string; rows?: number };
  };
  samples?: GenomeSample[];
  metadata?: Record<string, unknown>;
}
