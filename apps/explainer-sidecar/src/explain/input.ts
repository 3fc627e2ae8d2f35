/**
 * Turns the inputs of a request (gRPC message or KServe V1 JSON) into dense data in the model's feature order,
 * rejecting anything that does not fit with a message that says what to send instead.
 */
import type { explain as pb } from '@genome/proto';
import { encodeRows, type RawCell, type RowSchema } from '@genome/model-format';
import { SidecarError } from '../errors.js';
import type { ExplainData, ImageData, TabularData } from '../methods/types.js';
import type { ModelDescription } from '../models/types.js';
import { quote } from '@genome/server-kit';
import { decodeEncodedImages } from './image-decode.js';

const bad = (msg: string) => new SidecarError('INVALID_REQUEST', msg);

export interface InputLimits {
  /** Maximum rows (texts, images) per request. */
  maxRows: number;
  /** The request is an ExplainStream (the row limit's advice differs). */
  stream?: boolean;
}

/**
 * A cell of a tabular row in the model's order. NaN is a missing value; ±Infinity is refused for every method alike
 * (XGBoost refuses it too, and black-box models cannot evaluate it).
 */
function cell(v: number, r: number, f: number, model: ModelDescription, where: string): number {
  if (v === Infinity || v === -Infinity) {
    throw bad(`${where} row ${r}, feature "${model.featureNames[f] ?? f}": ${v} is not a finite number; send a finite value, or NaN (REST: null) for a missing one`);
  }
  return v;
}

/** Column permutation from request column order to model order (index into the request row per model feature). */
function columnOrder(requestNames: readonly string[], model: ModelDescription): Int32Array | null {
  if (requestNames.length === 0) return null;
  const want = model.featureNames;
  if (requestNames.length !== want.length) {
    throw bad(`feature_names has ${requestNames.length} names; model "${model.name}" has ${want.length} features: ${want.join(', ')}`);
  }
  const pos = new Map<string, number>();
  requestNames.forEach((n, i) => {
    if (pos.has(n)) throw bad(`feature_names lists ${quote(n)} twice`);
    pos.set(n, i);
  });
  const order = new Int32Array(want.length);
  let identity = true;
  for (let f = 0; f < want.length; f++) {
    const i = pos.get(want[f]!);
    if (i === undefined) {
      throw bad(`feature_names is missing "${want[f]}"; model "${model.name}" expects: ${want.join(', ')}`);
    }
    order[f] = i;
    if (i !== f) identity = false;
  }
  return identity ? null : order;
}

function tabularFromFlat(
  flat: ArrayLike<number>,
  nRows: number,
  order: Int32Array | null,
  model: ModelDescription,
): TabularData {
  const nf = model.featureNames.length;
  const rows = new Float64Array(nRows * nf);
  for (let r = 0; r < nRows; r++) {
    for (let f = 0; f < nf; f++) {
      const v = flat[r * nf + (order ? order[f]! : f)];
      if (typeof v !== 'number') throw bad(`row ${r}, column ${f}: expected a number, got ${quote(v)}`);
      rows[r * nf + f] = cell(v, r, f, model, 'tabular');
    }
  }
  return { kind: 'tabular', rows, nRows, nFeatures: nf };
}

/**
 * gRPC rows of which some carry `cells` (raw values: numbers, category names, missing). A row's `values` are the
 * numeric form the model takes (category codes); they are turned into raw cells (codes into names) so that every row
 * goes through the same {@link encodeRows}, and the explanation's `data` shows each row as it was sent.
 */
function tabularFromCells(rows: readonly pb.Row[], order: Int32Array | null, model: ModelDescription): TabularData {
  const nf = model.featureNames.length;
  const sent: RawCell[][] = [];
  const forEncoding = rows.map((row, r): RawCell[] => {
    if (row.cells.length > 0 && row.values.length > 0) throw bad(`tabular.rows[${r}]: set either values or cells, not both`);
    const width = row.cells.length > 0 ? row.cells.length : row.values.length;
    if (width !== nf) throw bad(`row ${r} has ${width} ${row.cells.length > 0 ? 'cells' : 'values'}; model "${model.name}" expects ${nf}: ${model.featureNames.join(', ')}`);
    const cellAt = (f: number): RawCell => {
      const i = order ? order[f]! : f;
      const where = `tabular.rows[${r}].${row.cells.length > 0 ? 'cells' : 'values'}[${i}] (${model.featureNames[f]})`;
      if (row.cells.length === 0) return rawCell(row.values[i], model, f, where);
      const c = row.cells[i]!;
      if (c.category !== undefined) return rawCell(c.category, model, f, where);
      if (c.number !== undefined) return rawCell(c.number, model, f, where);
      return null; // missing, or a cell with nothing set
    };
    const cells = model.featureNames.map((_, f) => cellAt(f));
    sent.push(cells);
    // A value row holds codes: name them, so that encodeRows reads them back as the same codes.
    return row.cells.length > 0 ? cells : cells.map((v, f) => codeAsName(model, f, v));
  });
  return { kind: 'tabular', rows: encode(model, forEncoding, 'tabular.rows'), nRows: rows.length, nFeatures: nf, raw: sent };
}

/** A category code of a categorical feature with names, as its name (other cells unchanged). */
function codeAsName(model: ModelDescription, f: number, v: RawCell): RawCell {
  const names = model.featureCategories?.[f];
  return names && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length ? names[v]! : v;
}

function checkRowCount(n: number, limits: InputLimits, what: string): void {
  if (n === 0) throw bad(`no ${what} to explain: send at least one`);
  if (n > limits.maxRows) {
    const advice = limits.stream ? 'split it into several streams, or ask the operator to raise --max-rows' : 'split the request, or ask the operator to raise --max-rows';
    throw bad(`${n} ${what} in one request; the limit is ${limits.maxRows}: ${advice}`);
  }
}

/** Decodes the `input` oneof of an ExplainRequest. */
export function dataFromRequest(req: pb.ExplainRequest, model: ModelDescription, limits: InputLimits): ExplainData {
  const set = [req.tabular, req.text, req.image].filter((x) => x !== undefined).length;
  if (set === 0) throw bad('the request has no input: set one of tabular, text or image');
  if (set > 1) throw bad('set exactly one of tabular, text or image');
  if (req.tabular) {
    if (model.kind !== 'tabular') throw bad(`model "${model.name}" takes ${model.kind} input, not tabular rows`);
    const t = req.tabular;
    const nf = model.featureNames.length;
    const order = columnOrder(t.featureNames, model);
    if (t.rows.length > 0 && t.values.length > 0) throw bad('set either tabular.rows or tabular.values, not both');
    if (t.values.length > 0) {
      if (t.values.length % nf !== 0) {
        throw bad(`tabular.values has ${t.values.length} numbers, not a multiple of the model's ${nf} features (${model.featureNames.join(', ')})`);
      }
      const n = t.values.length / nf;
      checkRowCount(n, limits, 'rows');
      return tabularFromFlat(t.values, n, order, model);
    }
    checkRowCount(t.rows.length, limits, 'rows');
    if (t.rows.some((row) => row.cells.length > 0)) return tabularFromCells(t.rows, order, model);
    const flat = new Float64Array(t.rows.length * nf);
    t.rows.forEach((row, r) => {
      if (row.values.length !== nf) {
        throw bad(`row ${r} has ${row.values.length} values; model "${model.name}" expects ${nf}: ${model.featureNames.join(', ')}`);
      }
      flat.set(row.values, r * nf);
    });
    return tabularFromFlat(flat, t.rows.length, order, model);
  }
  if (req.text) {
    if (model.kind !== 'text') throw bad(`model "${model.name}" takes ${model.kind} input, not text`);
    checkRowCount(req.text.texts.length, limits, 'texts');
    return { kind: 'text', texts: req.text.texts };
  }
  const img = req.image!;
  if (model.kind !== 'image') throw bad(`model "${model.name}" takes ${model.kind} input, not images`);
  if (img.encoded !== undefined) {
    const d = decodeEncodedImages([img.encoded], model);
    return imageData(d.shape, d.pixels, d.layout, model, limits);
  }
  const tensor = img.tensor;
  if (!tensor) throw bad('image has neither encoded bytes nor a tensor');
  return imageData(tensor.shape, tensor.values, img.layout, model, limits);
}

export function imageData(
  shape: readonly number[],
  values: ArrayLike<number>,
  layoutIn: string,
  model: ModelDescription,
  limits: InputLimits,
): ImageData {
  const layout = (layoutIn || 'NCHW').toUpperCase();
  if (layout !== 'NCHW' && layout !== 'NHWC') throw bad(`image.layout must be NCHW or NHWC, got ${quote(layoutIn)}`);
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw bad(`image.tensor.shape must be 4 positive dimensions (batch first), got ${quote(shape)}`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (values.length !== n) throw bad(`image.tensor has ${values.length} values; shape ${quote(shape)} needs ${n}`);
  const want = model.inputShape;
  if (want.length === 4) {
    for (let d = 1; d < 4; d++) {
      if (want[d]! > 0 && want[d] !== shape[d]) {
        throw bad(`image.tensor.shape [${shape.join(', ')}] does not fit model "${model.name}" input [${want.join(', ')}]`);
      }
    }
  }
  checkRowCount(shape[0]!, limits, 'images');
  return { kind: 'image', pixels: values instanceof Float32Array ? values : Float32Array.from(values), shape: [...shape], layout };
}

/**
 * KServe V1 `instances`: arrays of numbers in the model's feature order, objects keyed by feature name, strings
 * (text models) or `{"b64": ...}`-free image tensors as nested arrays `[C][H][W]` are not accepted (use gRPC).
 */
export function dataFromInstances(instances: unknown, model: ModelDescription, limits: InputLimits): ExplainData {
  if (!Array.isArray(instances)) throw bad('"instances" must be an array of rows');
  checkRowCount(instances.length, limits, 'instances');
  if (model.kind === 'text') {
    const texts = instances.map((x, i) => {
      if (typeof x !== 'string') throw bad(`instances[${i}] must be a string for text model "${model.name}"`);
      return x;
    });
    return { kind: 'text', texts };
  }
  if (model.kind === 'image') {
    // KServe V1 binary convention: {"b64": "<base64 PNG/JPEG>"} per instance.
    const bytes = instances.map((x, i) => {
      const b64 = x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>).b64 : undefined;
      if (typeof b64 !== 'string') throw bad(`instances[${i}] must be {"b64": "<base64 PNG or JPEG>"} for image model "${model.name}" (or use gRPC with image.tensor)`);
      return new Uint8Array(Buffer.from(b64, 'base64'));
    });
    checkRowCount(bytes.length, limits, 'images');
    const d = decodeEncodedImages(bytes, model);
    return imageData(d.shape, d.pixels, d.layout, model, limits);
  }
  const names = model.featureNames;
  const nf = names.length;
  const raw = instances.map((row: unknown, r): RawCell[] => {
    if (Array.isArray(row)) {
      if (row.length !== nf) throw bad(`instances[${r}] has ${row.length} values; model "${model.name}" expects ${nf}: ${names.join(', ')}`);
      return names.map((n, f) => rawCell(row[f], model, f, `instances[${r}].${n}`));
    }
    if (row !== null && typeof row === 'object') {
      const obj = row as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (!names.includes(k)) throw bad(`instances[${r}] has unknown feature ${quote(k)}; model "${model.name}" expects: ${names.join(', ')}`);
      }
      return names.map((n, f) => {
        if (!(n in obj)) throw bad(`instances[${r}] is missing feature "${n}" (use null for a missing value)`);
        return rawCell(obj[n], model, f, `instances[${r}].${n}`);
      });
    }
    throw bad(`instances[${r}] must be an array of values or an object keyed by feature name`);
  });
  return { kind: 'tabular', rows: encode(model, raw, 'instances'), nRows: raw.length, nFeatures: nf, raw };
}

/** The categorical features' names, for the lookups of {@link encodeRows}. */
function schemaOf(model: ModelDescription): RowSchema {
  return {
    featureNames: model.featureNames,
    ...(model.featureTypes ? { featureTypes: model.featureTypes } : {}),
    ...(model.featureCategories ? { featureCategories: model.featureCategories } : {}),
  };
}

/** Raw rows (in the model's feature order) -> the numeric matrix; category names become codes. */
function encode(model: ModelDescription, raw: readonly (readonly RawCell[])[], where: string): Float64Array {
  try {
    return encodeRows(schemaOf(model), raw);
  } catch (err) {
    throw bad(`${where}: ${(err as Error).message}`);
  }
}

const isCategorical = (model: ModelDescription, f: number) => model.featureTypes?.[f] === 'categorical' || model.featureCategories?.[f] !== undefined;

/**
 * One cell as a caller sent it: a number, a category name (categorical features), or missing (null, NaN, and the
 * string "NaN" of the gRPC JSON mapping when it is not a category name). ±Infinity is refused for every method alike
 * (XGBoost refuses it too).
 */
function rawCell(v: unknown, model: ModelDescription, f: number, where: string): RawCell {
  const categorical = isCategorical(model, f);
  if (v === null || v === undefined) return null;
  if (v === 'NaN' && !model.featureCategories?.[f]?.includes('NaN')) return null;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    if (!Number.isFinite(v)) throw bad(`${where} is ${quote(v)}, not a finite number; send a finite value, or null for a missing one`);
    return v;
  }
  if (typeof v === 'string' && categorical) return v;
  throw bad(`${where} must be ${categorical ? 'a category name, a number' : 'a number'} or null, got ${quote(v)}`);
}

/** Rows in `data`. */
export function rowCount(data: ExplainData): number {
  return data.kind === 'tabular' ? data.nRows : data.kind === 'text' ? data.texts.length : data.shape[0]!;
}

/** Rows [from, to) of `data` (views, no copies for tabular and image data). */
export function sliceData(data: ExplainData, from: number, to: number): ExplainData {
  if (data.kind === 'tabular') {
    return {
      kind: 'tabular',
      rows: data.rows.subarray(from * data.nFeatures, to * data.nFeatures),
      nRows: to - from,
      nFeatures: data.nFeatures,
      ...(data.raw ? { raw: data.raw.slice(from, to) } : {}),
    };
  }
  if (data.kind === 'text') return { kind: 'text', texts: data.texts.slice(from, to) };
  const per = data.shape.slice(1).reduce((a, b) => a * b, 1);
  return { kind: 'image', pixels: data.pixels.subarray(from * per, to * per), shape: [to - from, ...data.shape.slice(1)], layout: data.layout };
}
