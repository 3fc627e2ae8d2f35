/**
 * Reads a TF.js model.json and its weight shards from disk into ModelArtifacts (the browser build of TF.js has
 * no file:// loader). Shards must stay inside the model's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { GradCamError } from '../errors.js';

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: unknown;
  modelInitializer?: unknown;
  weightsManifest?: { paths: string[]; weights: unknown[] }[];
}

export async function readTfjsModel(jsonPath: string): Promise<{ artifacts: Record<string, unknown>; kind: 'layers' | 'graph' }> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new GradCamError('INVALID_INPUT', `Cannot read TF.js model '${jsonPath}': ${(err as Error).message}`, { cause: err });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new GradCamError('INVALID_MODEL', `'${jsonPath}' is not a TF.js model.json (no modelTopology).`);
  const dir = resolve(dirname(jsonPath));
  const weightSpecs: unknown[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const file = resolve(dir, p);
      if (!file.startsWith(dir + sep)) throw new GradCamError('INVALID_MODEL', `Weight shard '${p}' points outside the model folder.`);
      try {
        buffers.push(new Uint8Array(await readFile(file)));
      } catch (err) {
        throw new GradCamError('INVALID_MODEL', `Missing weight shard '${p}' next to ${jsonPath}.`, { cause: err });
      }
    }
  }
  const total = buffers.reduce((s, b) => s + b.length, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) {
    weightData.set(b, o);
    o += b.length;
  }
  const kind = json.format === 'graph-model' || (json.modelTopology as { node?: unknown }).node ? 'graph' : 'layers';
  return {
    kind,
    artifacts: {
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
      modelInitializer: json.modelInitializer,
      weightSpecs,
      weightData: weightData.buffer,
    },
  };
}
