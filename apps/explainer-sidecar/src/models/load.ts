/**
 * Loads a configured model (file, Genome package directory, or remote Open Inference Protocol server) into a
 * LoadedModel, through the registry's (ref, version, sha256) cache.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import {
  decodeOnnxModel,
  loadOnnxLinearModel,
  loadOnnxTreeEnsemble,
  onnxPredictor,
  remotePredictor,
  remoteTextPredictor,
  treePredictor,
  withCovers,
  type AnyPredictor,
  type TreeEnsemble,
} from '@genome/model-format';
import { SidecarError } from '../errors.js';
import { readBackgroundCsv } from './background.js';
import type { ModelRegistry } from './registry.js';
import type { LoadedModel, ModelDescription, ModelSpec } from './types.js';
import { cooperative } from './cooperative.js';
import { sha256 } from './hash.js';
import { loadPackageModel } from './package.js';
import { featureSchema, parseTreeFile } from './tree-file.js';


function stem(path: string): string {
  return basename(path).replace(/\.(json|ubj|txt|model|onnx)$/i, '').replace(/[^A-Za-z0-9_-]/g, '-');
}

function treeModel(name: string, version: string, hash: string, source: string, format: string, ensemble: TreeEnsemble, predictor: AnyPredictor | undefined, extra: Partial<LoadedModel> = {}): LoadedModel {
  const p = predictor ?? treePredictor(ensemble);
  const description: ModelDescription = {
    name,
    version,
    sha256: hash,
    source,
    format,
    kind: 'tabular',
    featureNames: [...ensemble.featureNames],
    ...featureSchema(ensemble),
    outputNames: [...(p.outputNames ?? ensemble.outputNames)],
    outputSpace: p.outputSpace,
    description: `${ensemble.nTrees}-tree ${ensemble.source.format} ensemble${ensemble.source.objective ? ` (${ensemble.source.objective})` : ''}`,
    inputShape: [],
  };
  return { description, ensemble, predictor: p, close: async () => p.close?.(), ...extra };
}

/** Applies --feature-names and --background to a tree model loaded from a file. */
function withFileExtras(m: LoadedModel, spec: Extract<ModelSpec, { kind: 'file' }>): LoadedModel {
  let ensemble = m.ensemble!;
  const d = { ...m.description };
  if (spec.featureNames) {
    if (spec.featureNames.length !== ensemble.nFeatures) {
      throw new SidecarError('CONFIG', `model ${spec.path} has ${ensemble.nFeatures} features but ${spec.featureNames.length} feature names were given`);
    }
    ensemble = { ...ensemble, featureNames: [...spec.featureNames] };
    d.featureNames = [...spec.featureNames];
  }
  let background: LoadedModel['background'];
  if (spec.backgroundPath) {
    const bg = readBackgroundCsv(spec.backgroundPath, d.featureNames, { featureTypes: ensemble.featureTypes, ...(ensemble.featureCategories ? { featureCategories: ensemble.featureCategories } : {}) });
    background = { data: bg.data, rows: bg.rows };
    // Covers from the background rows (the count reaching each node) for formats that store none.
    if (!ensemble.hasCovers) ensemble = withCovers(ensemble, bg.data, bg.rows);
  }
  const predictor = ensemble === m.ensemble ? m.predictor : treePredictor(ensemble);
  return { ...m, description: d, ensemble, predictor, ...(background ? { background } : {}) };
}

async function loadFile(spec: Extract<ModelSpec, { kind: 'file' }>, registry: ModelRegistry): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(spec.path);
  } catch (err) {
    throw new SidecarError('CONFIG', `cannot read model file ${spec.path}: ${(err as Error).message}`, { cause: err });
  }
  const hash = sha256(bytes);
  const version = spec.version ?? hash.slice(0, 12);
  const name = spec.name ?? stem(spec.path);
  const ref = `${spec.path}|${spec.featureNames?.join(',') ?? ''}|${spec.backgroundPath ?? ''}|${JSON.stringify(spec.iterationRange ?? null)}`;
  return registry.loadCached({ ref, version, sha256: hash }, async () => {
    const ext = extname(spec.path).toLowerCase();
    if (ext === '.onnx') {
      const onnx = decodeOnnxModel(bytes);
      const isTree = onnx.graph.nodes.some((n) => n.domain === 'ai.onnx.ml' && /^TreeEnsemble/.test(n.opType));
      if (isTree) {
        const ensemble = loadOnnxTreeEnsemble(onnx);
        return withFileExtras(treeModel(name, version, hash, spec.path, 'onnx-ml', ensemble, undefined), spec);
      }
      const isLinear = onnx.graph.nodes.some((n) => n.domain === 'ai.onnx.ml' && /^Linear(Regressor|Classifier)$/.test(n.opType));
      const linear = isLinear ? loadOnnxLinearModel(onnx) : undefined;
      const input = onnx.graph.inputs[0];
      const rank = input && input.type.kind === 'tensor' ? (input.type.shape?.length ?? 0) : 0;
      const kind = rank === 4 ? 'image' : 'tabular';
      const p = kind === 'image' ? await onnxPredictor(bytes, { kind: 'image' }) : await onnxPredictor(bytes);
      const description: ModelDescription = {
        name,
        version,
        sha256: hash,
        source: spec.path,
        format: 'onnx',
        kind,
        featureNames: p.kind === 'tabular' ? Array.from({ length: p.nFeatures }, (_, i) => `f${i}`) : [],
        outputNames: [...p.outputNames],
        outputSpace: p.outputSpace,
        description: `ONNX model (${onnx.producerName || 'unknown producer'})`,
        inputShape: p.kind === 'image' ? [...p.inputShape] : [],
      };
      let background: LoadedModel['background'];
      if (spec.featureNames && description.kind === 'tabular') {
        if (spec.featureNames.length !== description.featureNames.length) {
          throw new SidecarError('CONFIG', `model ${spec.path} has ${description.featureNames.length} features but ${spec.featureNames.length} feature names were given`);
        }
        description.featureNames = [...spec.featureNames];
      }
      if (spec.backgroundPath && description.kind === 'tabular') {
        const bg = readBackgroundCsv(spec.backgroundPath, description.featureNames);
        background = { data: bg.data, rows: bg.rows };
      }
      return {
        description,
        predictor: p,
        ...(background ? { background } : {}),
        extras: { onnxBytes: bytes, ...(linear ? { linear } : {}) },
        close: async () => p.close?.(),
      };
    }
    const { ensemble, format } = parseTreeFile(bytes, spec.iterationRange);
    return withFileExtras(treeModel(name, version, hash, spec.path, format, ensemble, undefined), spec);
  });
}

type RemoteSpec = Extract<ModelSpec, { kind: 'remote' }>;

/**
 * What is known of a remote model before its server answers: served while the model is not ready (ListModels,
 * DescribeModel), with the feature names from the flags or the background CSV.
 */
export function remoteDescription(spec: RemoteSpec): ModelDescription {
  const protocol = spec.protocol === 'v2' ? 'rest' : 'grpc';
  const remoteName = spec.remoteName ?? spec.name;
  let featureNames = spec.featureNames ?? [];
  if (!spec.featureNames && spec.backgroundPath && spec.input !== 'text') {
    try {
      featureNames = readBackgroundCsv(spec.backgroundPath, undefined).names;
    } catch {
      // reported when the model loads
    }
  }
  return {
    name: spec.name,
    version: spec.version ?? '',
    sha256: '',
    source: `oip+${protocol}://${spec.host}/${remoteName}`,
    format: 'oip',
    kind: spec.input === 'text' ? 'text' : 'tabular',
    featureNames: [...featureNames],
    outputNames: [],
    outputSpace: 'raw',
    description: `remote ${spec.input === 'text' ? 'text ' : ''}model "${remoteName}" at ${spec.host} (Open Inference Protocol, ${protocol}${spec.input === 'text' ? ', BYTES input' : ''})`,
    inputShape: [],
  };
}

async function loadRemote(spec: RemoteSpec, registry: ModelRegistry): Promise<LoadedModel> {
  const protocol = spec.protocol === 'v2' ? 'rest' : 'grpc';
  const url = protocol === 'rest' && !/^https?:\/\//.test(spec.host) ? `${spec.useTls ? 'https' : 'http'}://${spec.host}` : protocol === 'grpc' && spec.useTls && !spec.host.startsWith('grpcs://') ? `grpcs://${spec.host}` : spec.host;
  const remoteName = spec.remoteName ?? spec.name;
  const ref = `oip+${protocol}://${spec.host}/${remoteName}${spec.input === 'text' ? '#text' : ''}`;
  const known = remoteDescription(spec);
  return registry.loadCached({ ref, version: spec.version ?? '', sha256: '' }, async () => {
    if (spec.input === 'text') {
      if (spec.backgroundPath || spec.featureNames) {
        throw new SidecarError('CONFIG', `remote text model "${remoteName}" takes strings: --background and --feature-names do not apply`);
      }
      const p = await remoteTextPredictor({
        protocol,
        url,
        model: remoteName,
        ...(spec.version ? { version: spec.version } : {}),
        ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
      });
      const description: ModelDescription = { ...known, outputNames: [...p.outputNames], outputSpace: p.outputSpace };
      return { description, predictor: p, close: async () => p.close?.() };
    }
    const bg = spec.backgroundPath ? readBackgroundCsv(spec.backgroundPath, spec.featureNames) : undefined;
    const featureNames = spec.featureNames ?? bg?.names;
    const p = await remotePredictor({
      protocol,
      url,
      model: remoteName,
      ...(spec.version ? { version: spec.version } : {}),
      ...(featureNames ? { nFeatures: featureNames.length } : {}),
      ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
    });
    const names = featureNames ?? Array.from({ length: p.nFeatures }, (_, i) => `f${i}`);
    if (names.length !== p.nFeatures) {
      throw new SidecarError('CONFIG', `remote model "${remoteName}" takes ${p.nFeatures} features but ${names.length} feature names were given`);
    }
    const description: ModelDescription = { ...known, featureNames: names, outputNames: [...p.outputNames], outputSpace: p.outputSpace };
    return { description, predictor: p, ...(bg ? { background: { data: bg.data, rows: bg.rows } } : {}), close: async () => p.close?.() };
  });
}

/**
 * Loads one configured model. Its predictor is wrapped by {@link cooperative}, so explainers' model calls yield to
 * the event loop and stop when their call is cancelled.
 */
export async function loadModel(spec: ModelSpec, registry: ModelRegistry): Promise<LoadedModel> {
  if (spec.kind === 'store') throw new SidecarError('CONFIG', `store://${spec.ref}: store models are loaded with the model store (loadStoreModel in models/store.ts)`);
  const m = spec.kind === 'file' ? await loadFile(spec, registry) : spec.kind === 'package' ? await loadPackageModel(spec, registry) : await loadRemote(spec, registry);
  // A cache hit may carry the name of the first spec that loaded the same bytes: serve it under this spec's name.
  const name = spec.name ?? (spec.kind === 'file' ? stem(spec.path) : m.description.name);
  return {
    ...m,
    description: name === m.description.name ? m.description : { ...m.description, name },
    ...(m.predictor ? { predictor: cooperative(m.predictor) } : {}),
  };
}
