/** What the sidecar keeps for a loaded model: its description plus the forms explainers need. */
import type { AnyPredictor, FeatureType, GenomeImageInput, OutputSpace, TreeEnsemble, XGBoostIterationRange } from '@genome/model-format';

export type InputKind = 'tabular' | 'text' | 'image';

/** Description served by ListModels/DescribeModel and `GET /v1/models/{name}`. */
export interface ModelDescription {
  name: string;
  version: string;
  /** SHA-256 (hex) of the model bytes; '' for remote models. */
  sha256: string;
  source: string;
  format: string;
  kind: InputKind;
  featureNames: string[];
  outputNames: string[];
  outputSpace: OutputSpace;
  description: string;
  /** Image models: input shape, batch first. */
  inputShape: number[];
  /** Tabular models: the type of each feature, when the model or its package declares them. */
  featureTypes?: FeatureType[];
  /**
   * Tabular models: the category names of each categorical feature (index = code; undefined for numeric features),
   * from the model file (XGBoost >= 3.1, LightGBM pandas_categorical) or the package's levels. Requests may send
   * these names in place of codes.
   */
  featureCategories?: (readonly string[] | undefined)[];
  /** Image models from a Genome package: how encoded images become the input tensor (the package's input.image). */
  imagePreprocessing?: GenomeImageInput;
  /** Models served from the model store: the reference followed and the version this model is. */
  store?: StoreInfo;
}

/** Where a store-backed model comes from (see README, Serving from the model store). */
export interface StoreInfo {
  /** The reference as configured, without `store://`: `NAME@ALIAS`, `NAME` (latest) or `NAME/3`. */
  ref: string;
  /** Canonical name in the store. */
  name: string;
  /** The store's version number of this model. */
  version: number;
  /** The alias followed ('' for latest and fixed references). */
  alias: string;
  /** Package digest of the version (the store's `digest`). */
  digest: string;
  /** True for alias and latest references: the sidecar swaps in new versions as the reference moves. */
  follows: boolean;
}

/** A loaded model. Created once per (ref, version, sha256) and shared by all calls. */
export interface LoadedModel {
  readonly description: ModelDescription;
  /** The tree IR when the model is a tree ensemble (enables tree_shap). */
  readonly ensemble?: TreeEnsemble;
  /** A predictor for black-box methods (kernel_shap, lime, anchors, gradcam, ...). */
  readonly predictor?: AnyPredictor;
  /** Background rows for methods that need a reference distribution (row-major, featureNames.length columns). */
  readonly background?: { readonly data: Float64Array; readonly rows: number };
  /** Extra lib-specific handles (e.g. a linear model, an ONNX session for Grad-CAM), keyed by name. */
  readonly extras?: Readonly<Record<string, unknown>>;
  /** Releases native sessions and connections. */
  close(): Promise<void>;
}

/** How a model is configured: one of a file, a Genome package directory or a remote Open Inference Protocol server. */
export type ModelSpec =
  | {
      name?: string;
      kind: 'file';
      path: string;
      version?: string;
      /** Feature names when the file has none (ONNX) or to rename them. */
      featureNames?: string[];
      /** CSV of background rows (header = feature names): enables black-box methods and interventional TreeSHAP, and gives cover-less trees (ONNX) their covers. */
      backgroundPath?: string;
      /** XGBoost boosting rounds to serve ([begin, end) or 'best'); default every round. */
      iterationRange?: XGBoostIterationRange;
    }
  | {
      name?: string;
      kind: 'package';
      path: string;
      version?: string;
      /** Overrides the package manifest's modelOptions.iterationRange. */
      iterationRange?: XGBoostIterationRange;
    }
  | {
      /** Served name; default the store's model name. */
      name?: string;
      kind: 'store';
      /** `NAME@ALIAS`, `NAME` (the latest ready version) or `NAME/3` (a fixed version), as after `store://`. */
      ref: string;
      /** Overrides the package manifest's modelOptions.iterationRange. */
      iterationRange?: XGBoostIterationRange;
    }
  | {
      name: string;
      kind: 'remote';
      /** host:port of the model server (KServe's --predictor_host). */
      host: string;
      /** grpc-v2 (OIP gRPC) or v2 (OIP REST). */
      protocol: 'grpc-v2' | 'v2';
      /** What the remote model takes: numeric rows (default) or texts (a BYTES tensor of UTF-8 strings). */
      input?: 'tabular' | 'text';
      /** Name of the model on the remote server (defaults to `name`). */
      remoteName?: string;
      version?: string;
      useTls?: boolean;
      timeoutMs?: number;
      /** Feature names when the server's metadata does not say them. */
      featureNames?: string[];
      /** CSV (header + numeric rows) with background rows for black-box methods. */
      backgroundPath?: string;
    };
