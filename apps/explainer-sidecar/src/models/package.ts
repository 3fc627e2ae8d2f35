/**
 * Genome package directories (genome.json + artifacts) -> LoadedModel. Tree models are served from the tree IR
 * (TreeSHAP, and a pure-JS predictor for black-box methods); other models through their runtime. The version is
 * the manifest's, the checksum is over the model artifact's bytes.
 */
import { readFile } from 'node:fs/promises';
import { loadGenomePackage, ModelFormatError, withCovers, type GenomeFeature, type GenomePackage, type OpenedGenomeModel } from '@genome/model-format';
import { sha256 } from './hash.js';
import type { ModelRegistry } from './registry.js';
import { featureSchema } from './tree-file.js';
import type { LoadedModel, ModelDescription, ModelSpec } from './types.js';

/** Feature types and category names from a manifest's features (for models without a tree IR). */
function manifestSchema(features: readonly GenomeFeature[] | undefined): Pick<ModelDescription, 'featureTypes' | 'featureCategories'> {
  if (!features?.some((f) => f.type === 'categorical')) return {};
  return {
    featureTypes: features.map((f) => (f.type === 'categorical' ? 'categorical' : f.type === 'int' ? 'int' : 'float')),
    ...(features.some((f) => f.levels) ? { featureCategories: features.map((f) => f.levels) } : {}),
  };
}

export interface PackageLoadOptions {
  /** The package, already opened (it is closed with the model, or here when loading fails). */
  pkg?: GenomePackage;
  /**
   * False: load a model of its own, outside the registry's cache (store-backed models, which are closed when a newer
   * version replaces them, so a cached copy could be a closed one).
   */
  cache?: boolean;
}

export async function loadPackageModel(spec: Extract<ModelSpec, { kind: 'package' }>, registry: ModelRegistry, options: PackageLoadOptions = {}): Promise<LoadedModel> {
  const pkg = options.pkg ?? (await loadGenomePackage(spec.path));
  try {
    return await loadOpened(pkg, spec, registry, options.cache !== false);
  } catch (err) {
    if (options.pkg || options.cache === false) await pkg.close().catch(() => undefined);
    throw err;
  }
}

async function loadOpened(pkg: GenomePackage, spec: Extract<ModelSpec, { kind: 'package' }>, registry: ModelRegistry, cached: boolean): Promise<LoadedModel> {
  const m = pkg.manifest;
  const artifact = m.artifacts?.model ? await readFile(pkg.resolve(m.artifacts.model)) : Buffer.from(JSON.stringify(m.remote ?? {}));
  const hash = sha256(artifact);
  const version = spec.version ?? m.version;
  const modelOptions = spec.iterationRange !== undefined ? { modelOptions: { iterationRange: spec.iterationRange } } : {};
  const ref = `${pkg.root}|${JSON.stringify(spec.iterationRange ?? null)}`;
  const load = async (): Promise<LoadedModel> => {
    // The tree IR when the model has one (TreeSHAP), else the runtime (image, text, remote, non-tree ONNX).
    let opened: OpenedGenomeModel;
    try {
      opened = await pkg.open({ engine: 'tree', ...modelOptions });
    } catch (err) {
      if (!(err instanceof ModelFormatError) || (err.code !== 'UNSUPPORTED' && err.code !== 'INVALID_MODEL')) throw err;
      opened = await pkg.open({ engine: 'auto', ...modelOptions });
    }
    // Every row of the background file (covers for ONNX trees); explainers use the first `rows`.
    const bg = await pkg.background({ maxRows: Infinity });
    const limit = m.explainer?.background?.rows;
    const bgRows = bg ? Math.min(bg.nRows, limit ?? bg.nRows) : 0;
    const featureNames = m.input.features?.map((f) => f.name) ?? bg?.featureNames ?? [];
    const background = bg && bgRows > 0 ? { data: bg.rows.subarray(0, bgRows * bg.featureNames.length), rows: bgRows } : undefined;
    let ensemble = opened.tree;
    // The manifest names features and outputs; formats like ONNX do not.
    const named = m.output.names ?? m.output.classes;
    let p = opened.predictor;
    if (named && named.length === p.outputNames.length && named.some((n, i) => n !== p.outputNames[i])) {
      // Same predictor, renamed outputs (prototype delegation keeps its methods and state).
      p = Object.create(p, { outputNames: { value: [...named], enumerable: true } }) as typeof p;
    }
    if (ensemble && featureNames.length === ensemble.nFeatures) {
      const outputNames = named && named.length === ensemble.nOutputs ? [...named] : [...ensemble.outputNames];
      ensemble = { ...ensemble, featureNames: [...featureNames], outputNames };
    }
    // Formats without node covers (ONNX) get them from every row of the background file (so a package that ships its
    // training data reproduces the training covers), while explainers use the first `explainer.background.rows`.
    if (ensemble && !ensemble.hasCovers && bg && bg.nRows > 0) ensemble = withCovers(ensemble, bg.rows, bg.nRows);
    const description: ModelDescription = {
      name: spec.name ?? m.name,
      version,
      sha256: hash,
      source: pkg.root,
      format: `genome-package/${m.framework}`,
      kind: m.input.modality,
      featureNames,
      ...(ensemble ? featureSchema(ensemble) : manifestSchema(m.input.features)),
      outputNames: [...p.outputNames],
      outputSpace: p.outputSpace,
      description: m.description ?? '',
      inputShape: p.kind === 'image' ? [...p.inputShape] : [],
      ...(m.input.modality === 'image' && m.input.image ? { imagePreprocessing: { ...m.input.image } } : {}),
    };
    const defaults = m.explainer?.default;
    return {
      description,
      ...(ensemble ? { ensemble } : {}),
      predictor: p,
      ...(background ? { background } : {}),
      extras: {
        manifest: m,
        defaultMethod: defaults,
        methodParameters: m.explainer?.methods ?? {},
        // Grad-CAM differentiates the ONNX graph itself.
        ...(m.framework === 'onnx' && m.input.modality === 'image' && m.artifacts?.model ? { onnxBytes: new Uint8Array(artifact) } : {}),
      },
      close: async () => {
        await p.close?.();
        await pkg.close();
      },
    };
  };
  return cached ? registry.loadCached({ ref, version, sha256: hash }, load) : load();
}
