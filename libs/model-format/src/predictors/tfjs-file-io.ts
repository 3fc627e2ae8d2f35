/**
 * A TF.js `IOHandler` that reads a model.json and its weight shards from the local disk (the browser build of
 * TF.js has no file:// loader). Shard paths must stay in the model's directory and their total size must match
 * the weights manifest.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, relative, resolve, sep, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFormatError } from '../errors.js';

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}
interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: WeightEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  trainingConfig?: unknown;
}

/** Resolves `model` (a model.json file, a directory holding model.json, or a file:// URL) to a file path. */
export async function resolveModelJson(model: string): Promise<string> {
  const p = model.startsWith('file://') ? fileURLToPath(model) : model;
  try {
    const st = await stat(p);
    return st.isDirectory() ? resolve(p, 'model.json') : resolve(p);
  } catch {
    throw new ModelFormatError('INVALID_INPUT', `TF.js model "${model}" does not exist`);
  }
}

/** Bytes per weight value of a TF.js dtype (after quantization). */
function bytesPer(w: WeightEntry): number {
  const d = w.quantization?.dtype ?? w.dtype;
  if (d === 'uint8' || d === 'int8' || d === 'bool') return 1;
  if (d === 'uint16' || d === 'int16' || d === 'float16') return 2;
  if (d === 'float32' || d === 'int32') return 4;
  if (d === 'string') return -1;
  throw new ModelFormatError('UNSUPPORTED', `TF.js weight ${w.name} has dtype ${d}`);
}

/** Reads model.json + shards into TF.js ModelArtifacts; returns them with the parsed JSON's `format`. */
export async function readTfjsArtifacts(jsonPath: string): Promise<{ artifacts: Record<string, unknown>; kind: 'layers' | 'graph' }> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new ModelFormatError('INVALID_MODEL', `${jsonPath} is not a TF.js model.json: ${(err as Error).message}`, { cause: err });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new ModelFormatError('INVALID_MODEL', `${jsonPath} has no modelTopology; it is not a TF.js model.json`);
  }
  const topo = json.modelTopology as Record<string, unknown>;
  const kind: 'layers' | 'graph' =
    json.format === 'graph-model' || (json.format === undefined && 'node' in topo) ? 'graph' : 'layers';
  const dir = dirname(jsonPath);
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new ModelFormatError('INVALID_MODEL', `${jsonPath}: weightsManifest must be an array`);
  const buffers: Uint8Array[] = [];
  const specs: WeightEntry[] = [];
  let expected = 0;
  let fixedSize = true;
  for (const group of manifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new ModelFormatError('INVALID_MODEL', `${jsonPath}: each weightsManifest group needs paths and weights`);
    }
    for (const w of group.weights) {
      const b = bytesPer(w);
      if (b < 0) fixedSize = false;
      else expected += b * (w.shape ?? []).reduce((a: number, d: number) => a * d, 1);
      specs.push(w);
    }
    for (const p of group.paths) {
      const rel = decodeURIComponent(p);
      const abs = resolve(dir, rel);
      const r = relative(dir, abs);
      if (r.startsWith(`..${sep}`) || r === '..' || isAbsolute(r)) {
        throw new ModelFormatError('INVALID_MODEL', `${jsonPath}: weight path "${p}" leaves the model directory`);
      }
      try {
        buffers.push(new Uint8Array(await readFile(abs)));
      } catch {
        throw new ModelFormatError('INVALID_MODEL', `${jsonPath}: weight file "${p}" is missing`);
      }
    }
  }
  const total = buffers.reduce((a, b) => a + b.length, 0);
  if (fixedSize && total !== expected) {
    throw new ModelFormatError('INVALID_MODEL', `${jsonPath}: weight files hold ${total} bytes, the manifest needs ${expected}`);
  }
  const weightData = new ArrayBuffer(total);
  const view = new Uint8Array(weightData);
  let o = 0;
  for (const b of buffers) {
    view.set(b, o);
    o += b.length;
  }
  const artifacts: Record<string, unknown> = {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
  for (const k of ['signature', 'userDefinedMetadata', 'modelInitializer', 'trainingConfig'] as const) {
    if (json[k] !== undefined) artifacts[k] = json[k];
  }
  return { artifacts, kind };
}
