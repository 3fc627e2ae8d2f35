/**
 * `--json FILE`: KServe V1 instances, `[[...], ...]` (feature order) or `[{"feature": value, ...}, ...]` (any order;
 * a feature absent from an object is missing), bare or as `{"instances": [...]}`. null and "NaN" are missing,
 * numbers (and numeric strings) are numbers, other strings are category names.
 */
import { usageError } from '../errors.js';
import { parseCell, type CellValue, type RowsInput } from './cells.js';
import { readText } from './read-file.js';

function cell(v: unknown, where: () => string): CellValue {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseCell(v);
  throw usageError(`${where()}: ${JSON.stringify(v)} is not a cell (expected a number, a string or null)`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseInstances(doc: unknown, source: string): RowsInput {
  const instances = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.instances) ? doc.instances : undefined;
  if (!instances) throw usageError(`${source}: expected a JSON array of instances or {"instances": [...]}`);
  if (instances.length === 0) throw usageError(`${source}: no instances`);
  if (instances.every(Array.isArray)) {
    const rows = (instances as unknown[][]).map((inst, r) => inst.map((v, f) => cell(v, () => `${source}: instance ${r}, value ${f}`)));
    const width = rows[0]!.length;
    const bad = rows.findIndex((row) => row.length !== width);
    if (bad >= 0) throw usageError(`${source}: instance ${bad} has ${rows[bad]!.length} values but instance 0 has ${width}`);
    return { featureNames: undefined, rows, source };
  }
  if (instances.every(isObject)) {
    // Names in order of first appearance; a name an object lacks is missing in that row.
    const names: string[] = [];
    const index = new Map<string, number>();
    for (const inst of instances as Record<string, unknown>[]) {
      for (const k of Object.keys(inst)) {
        if (!index.has(k)) {
          index.set(k, names.length);
          names.push(k);
        }
      }
    }
    const rows = (instances as Record<string, unknown>[]).map((inst, r) =>
      names.map((n) => (n in inst ? cell(inst[n], () => `${source}: instance ${r}, feature "${n}"`) : null)),
    );
    return { featureNames: names, rows, source };
  }
  throw usageError(`${source}: instances must be all arrays (values in feature order) or all objects (feature name -> value)`);
}

export function readJson(file: string): RowsInput {
  const text = readText(file, '--json');
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw usageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseInstances(doc, file);
}
