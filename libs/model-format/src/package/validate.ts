/**
 * Validates a `genome.json` manifest: first against the JSON Schema (ajv, draft 2020-12, all errors), then the
 * cross-field rules a schema cannot say well (unique feature names, matching lengths, method vs modality).
 * Every problem names the field by JSON pointer and says what was expected.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ModelFormatError } from '../errors.js';
import type { GenomeExplainerMethod, GenomeManifest } from './manifest.js';
import { genomePackageSchema } from './schema.js';

export interface ManifestProblem {
  /** JSON pointer of the offending field, e.g. `/input/features/2/type` (empty for the root). */
  path: string;
  message: string;
}

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    validator = ajv.compile(genomePackageSchema());
  }
  return validator;
}

function valueAt(data: unknown, pointer: string): unknown {
  let v: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function describe(e: ErrorObject, data: unknown): ManifestProblem | undefined {
  const got = valueAt(data, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const path = e.instancePath;
  if (path === '/modelOptions/iterationRange' || path.startsWith('/modelOptions/iterationRange/')) {
    return {
      path: '/modelOptions/iterationRange',
      message: `must be "best" or [begin, end]: two non-negative integers, end exclusive (got ${show(valueAt(data, '/modelOptions/iterationRange'))})`,
    };
  }
  switch (e.keyword) {
    case 'if':
    case 'oneOf':
    case 'not':
      if (e.keyword === 'not' && /\/features\/\d+$/.test(path)) {
        return { path: `${path}/levels`, message: 'levels are only allowed on categorical features' };
      }
      if (e.keyword === 'oneOf') return { path, message: `must match exactly one allowed form (got ${show(got)})` };
      return undefined;
    case 'required':
      return { path: `${path}/${String(p.missingProperty)}`, message: 'is required but missing' };
    case 'additionalProperties':
      return { path: `${path}/${String(p.additionalProperty)}`, message: 'is not a known property (check the spelling)' };
    case 'enum':
      return {
        path,
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => show(v)).join(', ')} (got ${show(got)})`,
      };
    case 'const':
      return { path, message: `must be ${show(p.allowedValue)} (got ${show(got)})` };
    case 'type':
      return { path, message: `must be of type ${String(p.type)} (got ${show(got)})` };
    case 'pattern':
      if (/\$defs\/path\//.test(e.schemaPath)) {
        return { path, message: `must be a relative path inside the package, without '..' or a leading '/' (got ${show(got)})` };
      }
      if (/\/properties\/version\//.test(e.schemaPath)) return { path, message: `must be a semantic version like 1.0.0 (got ${show(got)})` };
      if (/\/properties\/name\//.test(e.schemaPath)) {
        return { path, message: `must be lowercase letters, digits, '.', '_' or '-' (got ${show(got)})` };
      }
      return { path, message: `must match ${String(p.pattern)} (got ${show(got)})` };
    default:
      return { path, message: `${e.message ?? 'is invalid'} (got ${show(got)})` };
  }
}

const METHOD_MODALITY: Record<GenomeExplainerMethod, readonly string[]> = {
  'tree_shap.path_dependent': ['tabular'],
  'tree_shap.interventional': ['tabular'],
  kernel_shap: ['tabular', 'text', 'image'],
  linear_shap: ['tabular'],
  exact_shap: ['tabular'],
  permutation_shap: ['tabular', 'text', 'image'],
  'lime.tabular': ['tabular'],
  'lime.text': ['text'],
  'lime.image': ['image'],
  'anchors.tabular': ['tabular'],
  gradcam: ['image'],
  gradcam_plus_plus: ['image'],
};

function crossFieldProblems(m: GenomeManifest): ManifestProblem[] {
  const out: ManifestProblem[] = [];
  const features = m.input.features ?? [];
  const seen = new Map<string, number>();
  features.forEach((f, i) => {
    const prev = seen.get(f.name);
    if (prev !== undefined) out.push({ path: `/input/features/${i}/name`, message: `duplicates the name of /input/features/${prev} (${show(f.name)})` });
    else seen.set(f.name, i);
    if (f.levels && new Set(f.levels).size !== f.levels.length) {
      out.push({ path: `/input/features/${i}/levels`, message: 'must not repeat a level' });
    }
  });
  if (m.input.modality !== 'tabular' && m.input.features) {
    out.push({ path: '/input/features', message: `is only for tabular input (modality is ${show(m.input.modality)})` });
  }
  if (m.input.modality !== 'image' && m.input.image) {
    out.push({ path: '/input/image', message: `is only for image input (modality is ${show(m.input.modality)})` });
  }
  const img = m.input.image;
  if (img) {
    for (const key of ['mean', 'std'] as const) {
      const v = img[key];
      if (v && v.length !== img.channels) {
        out.push({ path: `/input/image/${key}`, message: `must have one value per channel (${img.channels}), got ${v.length}` });
      }
    }
  }
  const { names, classes } = m.output;
  if (names && new Set(names).size !== names.length) out.push({ path: '/output/names', message: 'must not repeat a name' });
  if (classes && new Set(classes).size !== classes.length) out.push({ path: '/output/classes', message: 'must not repeat a class' });
  if (names && classes && names.length !== classes.length) {
    out.push({ path: '/output/names', message: `has ${names.length} names but /output/classes has ${classes.length} classes` });
  }
  const range = m.modelOptions?.iterationRange;
  if (range !== undefined) {
    if (m.framework !== 'xgboost') {
      out.push({ path: '/modelOptions/iterationRange', message: `applies to XGBoost models only (framework is ${show(m.framework)})` });
    } else if (Array.isArray(range) && range[1] !== 0 && range[0] >= range[1]) {
      out.push({ path: '/modelOptions/iterationRange', message: `selects no boosting round: begin must be below end (got ${show(range)})` });
    }
  }
  if (m.framework === 'remote' && m.artifacts?.model) {
    out.push({ path: '/artifacts/model', message: 'must not be set for framework "remote" (the model lives on the server)' });
  }
  if (m.framework !== 'remote' && m.remote) {
    out.push({ path: '/remote', message: `is only for framework "remote" (framework is ${show(m.framework)})` });
  }
  const check = (method: GenomeExplainerMethod, path: string) => {
    const ok = METHOD_MODALITY[method];
    if (!ok.includes(m.input.modality)) {
      out.push({ path, message: `${show(method)} cannot explain ${m.input.modality} input (it explains ${ok.join('/')})` });
    }
    if (method.startsWith('tree_shap') && !['xgboost', 'lightgbm', 'onnx'].includes(m.framework)) {
      out.push({ path, message: `${show(method)} needs a tree model (framework xgboost, lightgbm or onnx), not ${show(m.framework)}` });
    }
  };
  if (m.explainer) {
    check(m.explainer.default, '/explainer/default');
    for (const k of Object.keys(m.explainer.methods ?? {})) check(k as GenomeExplainerMethod, `/explainer/methods/${k}`);
  }
  (m.samples ?? []).forEach((s, i) => {
    if (Array.isArray(s.input) && m.input.modality === 'tabular' && s.input.length !== features.length) {
      out.push({ path: `/samples/${i}/input`, message: `has ${s.input.length} values but there are ${features.length} features` });
    }
    const e = s.explanation as { values?: number[][][]; featureNames?: string[] };
    if (e.values && e.featureNames) {
      e.values.forEach((row, r) => {
        if (row.length !== e.featureNames!.length) {
          out.push({ path: `/samples/${i}/explanation/values/${r}`, message: `has ${row.length} features but featureNames has ${e.featureNames!.length}` });
        }
      });
    }
  });
  return out;
}

/** Lists every problem of a manifest (empty when valid). */
export function checkGenomeManifest(value: unknown): ManifestProblem[] {
  const validate = compile();
  if (validate(value)) return crossFieldProblems(value as GenomeManifest);
  const problems: ManifestProblem[] = [];
  const keys = new Set<string>();
  for (const e of validate.errors ?? []) {
    const p = describe(e, value);
    if (!p) continue;
    const k = `${p.path}\u0000${p.message}`;
    if (!keys.has(k)) {
      keys.add(k);
      problems.push(p);
    }
  }
  return problems;
}

/** Returns the manifest typed, or throws INVALID_PACKAGE listing every problem with its field path. */
export function validateGenomeManifest(value: unknown, where = 'genome.json'): GenomeManifest {
  const problems = checkGenomeManifest(value);
  if (problems.length > 0) {
    const lines = problems.slice(0, 20).map((p) => `  - ${p.path || '(root)'}: ${p.message}`);
    if (problems.length > 20) lines.push(`  - ... and ${problems.length - 20} more`);
    throw new ModelFormatError('INVALID_PACKAGE', `${where} is not a valid Genome package manifest:\n${lines.join('\n')}`);
  }
  return value as GenomeManifest;
}
