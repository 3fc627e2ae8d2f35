/**
 * Loads a Genome model package (a directory, or a .tar.gz / .tgz / .tar / .zip archive of one): reads and
 * validates `genome.json`, checks that every artifact it names exists inside the package, and opens the model
 * as a predictor (and, for tree models, as the tree IR).
 */
import { readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep, isAbsolute } from 'node:path';
import { ModelFormatError } from '../errors.js';
import type { Explanation } from '../explanation.js';
import type { AnyPredictor } from '../predictor.js';
import type { TreeEnsemble } from '../tree/ensemble.js';
import { onnxPredictor } from '../predictors/onnx.js';
import { remotePredictor, remoteTextPredictor } from '../predictors/remote.js';
import { treePredictor } from '../predictors/tree.js';
import { loadTreeArtifact, type TreeArtifactOptions } from './tree-artifact.js';
import { archiveKind, extractPackageArchive, type ExtractOptions } from './archive.js';
import { parseBackgroundCsv, type BackgroundData } from './background.js';
import type { GenomeManifest, GenomeModelOptions } from './manifest.js';
import { validateGenomeManifest } from './validate.js';

export interface OpenedGenomeModel {
  /** Runs the model: tabular, text or image, per the manifest's input modality. */
  predictor: AnyPredictor;
  /** The tree IR, for tree models (xgboost, lightgbm, and ONNX tree ensembles). */
  tree?: TreeEnsemble;
}

export interface OpenOptions {
  /**
   * `auto` (default): onnxruntime / TF.js / the server, falling back to the tree IR for ONNX tree models when
   * onnxruntime-node is not installed; `tree`: always the tree IR (tree models only); `runtime`: never the IR.
   */
  engine?: 'auto' | 'tree' | 'runtime';
  /** Overrides the manifest's `modelOptions` (e.g. a server's `iterationRange` for this deployment). */
  modelOptions?: GenomeModelOptions;
}

export interface GenomePackage {
  readonly manifest: GenomeManifest;
  /** Directory holding genome.json (a temporary directory for archives, removed by {@link close}). */
  readonly root: string;
  /** Absolute path of a file of the package; refuses paths that leave it. */
  resolve(rel: string): string;
  /** Opens the model. Each call opens a fresh predictor; close it when done. */
  open(opts?: OpenOptions): Promise<OpenedGenomeModel>;
  /** The background rows (explainer.background, else artifacts.background), or undefined when there are none. */
  /**
   * The background rows: the first `explainer.background.rows` of the file (what explainers use), or up to
   * `maxRows` (`Infinity`: every row, e.g. to give an ONNX forest its covers from all the data the package ships).
   */
  background(options?: { maxRows?: number }): Promise<BackgroundData | undefined>;
  /** The precomputed sample explanations, with explanation files read. */
  samples(): Promise<{ id?: string; input?: unknown; explanation: Explanation }[]>;
  /** Removes the extracted files of an archive package. Safe to call twice. */
  close(): Promise<void>;
}

export interface LoadPackageOptions extends ExtractOptions {}

function inside(root: string, rel: string, field: string): string {
  if (isAbsolute(rel)) throw new ModelFormatError('INVALID_PACKAGE', `${field}: "${rel}" must be relative to the package`);
  const abs = resolve(root, rel);
  const r = relative(root, abs);
  if (r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) {
    throw new ModelFormatError('INVALID_PACKAGE', `${field}: "${rel}" points outside the package`);
  }
  return abs;
}

async function checkFile(root: string, rel: string, field: string): Promise<string> {
  const abs = inside(root, rel, field);
  let real: string;
  try {
    real = await realpath(abs);
    if (!(await stat(real)).isFile()) throw new Error('not a file');
  } catch {
    throw new ModelFormatError('INVALID_PACKAGE', `${field}: file "${rel}" does not exist in the package (${root})`);
  }
  const realRoot = await realpath(root);
  const r = relative(realRoot, real);
  if (r.startsWith(`..${sep}`) || r === '..' || isAbsolute(r)) {
    throw new ModelFormatError('INVALID_PACKAGE', `${field}: "${rel}" links outside the package`);
  }
  return abs;
}

/** Loads and validates a package from a directory or an archive file. */
export async function loadGenomePackage(path: string, opts: LoadPackageOptions = {}): Promise<GenomePackage> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new ModelFormatError('INVALID_PACKAGE', `Genome package "${path}" does not exist`);
  }
  let root = resolve(path);
  let tempDir: string | undefined;
  if (!st.isDirectory()) {
    const kind = await archiveKind(path);
    if (!kind) {
      throw new ModelFormatError('INVALID_PACKAGE', `"${path}" is neither a directory nor a .tar.gz/.tar/.zip archive`);
    }
    ({ root, tempDir } = await extractPackageArchive(path, kind, opts));
  }
  try {
    return await fromDirectory(root, tempDir);
  } catch (err) {
    if (tempDir) await rm(tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }); // retried: files may still be closing
    throw err;
  }
}

async function fromDirectory(root: string, tempDir: string | undefined): Promise<GenomePackage> {
  const manifestPath = join(root, 'genome.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new ModelFormatError('INVALID_PACKAGE', `no genome.json in package ${root}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError('INVALID_PACKAGE', `${manifestPath} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const manifest = validateGenomeManifest(json, manifestPath);

  // Every named artifact must exist inside the package.
  const a = manifest.artifacts;
  if (a) {
    await checkFile(root, a.model, '/artifacts/model');
    if (a.background) await checkFile(root, a.background, '/artifacts/background');
    if (a.labels) await checkFile(root, a.labels, '/artifacts/labels');
    for (const [k, v] of Object.entries(a.extra ?? {})) await checkFile(root, v, `/artifacts/extra/${k}`);
  }
  if (manifest.explainer?.background) await checkFile(root, manifest.explainer.background.path, '/explainer/background/path');
  for (const [i, s] of (manifest.samples ?? []).entries()) {
    const e = s.explanation as { path?: unknown };
    if (typeof e.path === 'string') await checkFile(root, e.path, `/samples/${i}/explanation/path`);
    if (s.input && typeof s.input === 'object' && !Array.isArray(s.input)) await checkFile(root, s.input.path, `/samples/${i}/input/path`);
  }

  let closed = false;
  const pkg: GenomePackage = {
    manifest,
    root,
    resolve: (rel) => inside(root, rel, 'path'),
    open: (o) => openModel(pkg, o ?? {}),
    async background(options: { maxRows?: number } = {}) {
      const bg = manifest.explainer?.background;
      const rel = bg?.path ?? manifest.artifacts?.background;
      if (!rel) return undefined;
      const features = manifest.input.features;
      if (!features) {
        throw new ModelFormatError('INVALID_PACKAGE', 'background data needs /input/features to name its columns');
      }
      const file = await checkFile(root, rel, bg ? '/explainer/background/path' : '/artifacts/background');
      return parseBackgroundCsv(await readFile(file, 'utf8'), features, rel, options.maxRows ?? bg?.rows ?? Infinity);
    },
    async samples() {
      const out: { id?: string; input?: unknown; explanation: Explanation }[] = [];
      for (const [i, s] of (manifest.samples ?? []).entries()) {
        let explanation = s.explanation as Explanation;
        const p = (s.explanation as { path?: string }).path;
        if (typeof p === 'string') {
          const file = await checkFile(root, p, `/samples/${i}/explanation/path`);
          try {
            explanation = JSON.parse(await readFile(file, 'utf8')) as Explanation;
          } catch (err) {
            throw new ModelFormatError('INVALID_PACKAGE', `/samples/${i}/explanation/path: ${p} is not valid JSON`, { cause: err });
          }
        }
        out.push({ ...(s.id !== undefined ? { id: s.id } : {}), ...(s.input !== undefined ? { input: s.input } : {}), explanation });
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (tempDir) await rm(tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }); // retried: files may still be closing
    },
  };
  return pkg;
}

/** What the tree loader takes from the manifest (`modelOptions`, as overridden by the caller, and the features' `levels`). */
function treeOptions(m: GenomeManifest, opts: OpenOptions = {}): TreeArtifactOptions {
  const modelOptions = m.modelOptions || opts.modelOptions ? { ...m.modelOptions, ...opts.modelOptions } : undefined;
  return {
    ...(modelOptions ? { modelOptions } : {}),
    ...(m.input.modality === 'tabular' && m.input.features ? { features: m.input.features } : {}),
  };
}

function outputNamesOf(m: GenomeManifest): string[] | undefined {
  return m.output.names ?? m.output.classes;
}

async function openModel(pkg: GenomePackage, opts: OpenOptions): Promise<OpenedGenomeModel> {
  const m = pkg.manifest;
  const engine = opts.engine ?? 'auto';
  const modality = m.input.modality;
  const names = outputNamesOf(m);
  const nFeatures = m.input.features?.length;

  if (m.framework === 'remote') {
    if (engine === 'tree') throw new ModelFormatError('UNSUPPORTED', `package "${m.name}" is a remote model; it has no tree IR`);
    const r = m.remote!;
    const common = {
      protocol: r.protocol,
      url: r.url,
      model: r.model,
      version: r.version,
      inputName: r.inputName ?? m.input.tensorName,
      outputName: r.outputName ?? m.output.tensorName,
      outputNames: names,
      outputSpace: m.output.space,
      timeoutMs: r.timeoutMs,
      maxBatch: r.maxBatch,
      retries: r.retries,
    };
    if (modality === 'text') return { predictor: await remoteTextPredictor(common) };
    if (modality === 'image') throw new ModelFormatError('UNSUPPORTED', 'remote image models are not supported yet');
    return { predictor: await remotePredictor({ ...common, datatype: r.datatype, nFeatures }) };
  }

  const modelPath = pkg.resolve(m.artifacts!.model);
  if (m.framework === 'tfjs') {
    if (engine === 'tree') throw new ModelFormatError('UNSUPPORTED', `package "${m.name}" is a TF.js model; it has no tree IR`);
    const { tfjsPredictor } = await import('../predictors/tfjs.js');
    const img = m.input.image;
    if (modality === 'image') {
      return {
        predictor: await tfjsPredictor(modelPath, {
          kind: 'image',
          outputNames: names,
          outputSpace: m.output.space,
          layout: img?.layout,
        }),
      };
    }
    if (modality === 'text') throw new ModelFormatError('UNSUPPORTED', 'TF.js text models are not supported; serve them remotely');
    return { predictor: await tfjsPredictor(modelPath, { outputNames: names, outputSpace: m.output.space }) };
  }

  const bytes = new Uint8Array(await readFile(modelPath));
  if (m.framework === 'xgboost' || m.framework === 'lightgbm') {
    if (engine === 'runtime') throw new ModelFormatError('UNSUPPORTED', `${m.framework} models run on the tree IR only`);
    const tree = await loadTreeArtifact(bytes, m.framework, m.artifacts!.model, treeOptions(m, opts));
    return { tree, predictor: treePredictor(tree, { outputSpace: m.output.space }) };
  }

  // ONNX: the tree IR when the graph is a tree ensemble; onnxruntime for running it when available.
  let tree: TreeEnsemble | undefined;
  if (modality === 'tabular') {
    try {
      tree = await loadTreeArtifact(bytes, 'onnx', m.artifacts!.model, treeOptions(m, opts));
    } catch (err) {
      if (engine === 'tree') throw err;
    }
  }
  if (engine === 'tree') {
    if (!tree) {
      throw new ModelFormatError('UNSUPPORTED', `package "${m.name}" is an ONNX ${modality} model; only tabular tree ensembles have a tree IR (use engine 'runtime' or 'auto')`);
    }
    return { tree, predictor: treePredictor(tree, { outputSpace: m.output.space }) };
  }
  try {
    const predictor =
      modality === 'image'
        ? await onnxPredictor(bytes, {
            kind: 'image',
            inputName: m.input.tensorName,
            outputName: m.output.tensorName,
            outputNames: names,
            outputSpace: m.output.space,
            layout: m.input.image?.layout,
          })
        : await onnxPredictor(bytes, {
            inputName: m.input.tensorName,
            outputName: m.output.tensorName,
            outputNames: names,
            outputSpace: m.output.space,
            nFeatures,
          }).catch((err: unknown) => {
            const wrong = /takes (\d+) features, not nFeatures/.exec((err as Error).message);
            if (!wrong) throw err;
            throw new ModelFormatError(
              'INVALID_PACKAGE',
              `/input/features lists ${nFeatures} features but the ONNX model takes ${wrong[1]}`,
              { cause: err },
            );
          });
    return tree ? { tree, predictor } : { predictor };
  } catch (err) {
    if (engine === 'auto' && tree && err instanceof ModelFormatError && err.code === 'MISSING_DEPENDENCY') {
      return { tree, predictor: treePredictor(tree, { outputSpace: m.output.space }) };
    }
    throw err;
  }
}
