/**
 * Real explanations for the SHAP chart tests, computed with @genome/shap on the shared fixture models:
 * - California housing (scikit-learn RandomForestRegressor, ONNX; covers from data.csv): a regressor, with
 *   interaction values on request.
 * - Audit (XGBoost 3.x binary:logistic with category names, jpmml-AGPL): a binary classifier whose `data` holds
 *   the category names as the user had them (Employment = "Private", ...), missing cells as null.
 * - Iris (XGBoost multi:softprob, jpmml-AGPL): a 3-class classifier.
 * Explanations are cached per argument set, as TreeSHAP runs once per test file.
 */
import { encodeRows, loadOnnxTreeEnsemble, loadTreeModel, withCovers, type Explanation, type RawCell, type TreeEnsemble } from '@genome/model-format';
import { explainTree } from '@genome/shap';
import { readFixture, readFixtureText, readNumericCsv } from '../../../tools/fixtures.js';

const cache = new Map<string, Explanation>();

let california: { model: TreeEnsemble; rows: number[][] } | undefined;
function californiaModel(): { model: TreeEnsemble; rows: number[][] } {
  if (!california) {
    const dir = ['oracles', 'trees', 'california-housing-rf-seed'] as const;
    const csv = readNumericCsv(...dir, 'data.csv');
    const nF = csv.header.length - 1;
    const rows = csv.rows.map((r) => r.slice(0, nF));
    const flat = Float64Array.from(rows.flat());
    const onnx = loadOnnxTreeEnsemble(new Uint8Array(readFixture(...dir, 'model.onnx')));
    const model = withCovers({ ...onnx, featureNames: csv.header.slice(0, nF) }, flat, rows.length);
    california = { model, rows };
  }
  return california;
}

/** California housing regressor: `n` rows spread over the data set (every k-th row), optionally with interactions. */
export async function californiaExplanation(n = 300, interactions = false): Promise<Explanation> {
  const key = `california:${n}:${interactions}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { model, rows } = californiaModel();
  const step = Math.max(1, Math.floor(rows.length / n));
  const picked = Array.from({ length: n }, (_, i) => rows[(i * step) % rows.length]!);
  const e = await explainTree(model, picked, { interactions });
  cache.set(key, e);
  return e;
}

const JPMML = ['models', 'xgboost', 'jpmml-AGPL'] as const;

/** A data-frame cell as pandas reads it: blank -> null, TRUE/FALSE -> 1/0, numbers, else the text. */
function cell(s: string): RawCell {
  if (s === '') return null;
  if (s === 'TRUE') return 1;
  if (s === 'FALSE') return 0;
  const x = Number(s);
  return Number.isFinite(x) ? x : s;
}

function csvRows(file: string): { header: string[]; rows: string[][] } {
  const lines = readFixtureText(...JPMML, file).split(/\r?\n/).filter((l) => l.length > 0);
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

async function jpmmlExplanation(modelFile: string, dataset: string, n: number, interactions: boolean): Promise<Explanation> {
  const key = `${modelFile}:${n}:${interactions}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const model = loadTreeModel(new Uint8Array(readFixture(...JPMML, modelFile)));
  const { header, rows } = csvRows(`${dataset}.csv`);
  const cols = model.featureNames.map((name) => {
    const c = header.indexOf(name);
    if (c < 0) throw new Error(`${dataset}.csv has no column ${name}`);
    return c;
  });
  const raw: RawCell[][] = rows.slice(0, n).map((r) => cols.map((c) => cell(r[c]!)));
  const encoded = encodeRows(model, raw);
  const covered = model.hasCovers ? model : withCovers(model, encoded, raw.length);
  const e = await explainTree(covered, encoded, { interactions });
  // What a user holding the data frame passes along: category names, not codes.
  e.data = raw.map((r) => r.map((v) => (v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : v)));
  cache.set(key, e);
  return e;
}

/** XGBoost binary classifier on Audit with categorical features (Employment, Education, Marital, Occupation, Gender). */
export function auditExplanation(n = 400, interactions = false): Promise<Explanation> {
  return jpmmlExplanation('BinomialClassificationAudit.json', 'Audit', n, interactions);
}

/** XGBoost 3-class classifier on Iris. */
export function irisExplanation(n = 150): Promise<Explanation> {
  return jpmmlExplanation('MultinomialClassificationIris.json', 'Iris', n, false);
}

/**
 * Checks that `svg` is well-formed XML as far as charts need: one root, balanced and properly nested tags, quoted
 * attributes, no stray `<` or `&`. Returns the problem or null.
 */
export function xmlProblem(svg: string): string | null {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const textPart = svg.slice(i, lt < 0 ? svg.length : lt);
    if (/&(?!(amp|lt|gt|quot|#39|#\d+|#x[0-9a-f]+);)/i.test(textPart)) return `unescaped & near ${JSON.stringify(textPart.slice(0, 60))}`;
    if (stack.length === 0 && textPart.trim().length > 0) return `text outside the root: ${JSON.stringify(textPart.slice(0, 60))}`;
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    if (!m) return `malformed tag at ${lt}: ${JSON.stringify(svg.slice(lt, lt + 80))}`;
    const [, close, name, attrs, selfClose] = m;
    if (/&(?!(amp|lt|gt|quot|#39|#\d+|#x[0-9a-f]+);)/i.test(attrs!)) return `unescaped & in attributes of <${name}>`;
    if (close) {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open ?? 'nothing'}>`;
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
    i = tag.lastIndex;
  }
  if (stack.length > 0) return `unclosed <${stack.join('> <')}>`;
  if (roots !== 1) return `${roots} root elements`;
  return null;
}

/** Number of elements with `class` containing `cls` as a word. */
export function countClass(svg: string, cls: string): number {
  const re = new RegExp(`class="(?:[^"]* )?${cls.replace(/[-]/g, '\\-')}(?: [^"]*)?"`, 'g');
  return (svg.match(re) ?? []).length;
}

/** Text content of elements with class `cls` (unescaped). */
export function texts(svg: string, cls: string): string[] {
  const re = new RegExp(`<text[^>]*class="(?:[^"]* )?${cls}(?: [^"]*)?"[^>]*>([^<]*)</text>`, 'g');
  return [...svg.matchAll(re)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'));
}

/** Values of the numeric tick labels (U+2212 minus read as '-'). */
export function tickValues(svg: string, axisClass = 'axis-bottom'): number[] {
  const start = svg.indexOf(`class="axis ${axisClass}"`);
  if (start < 0) return [];
  const end = svg.indexOf('</g>', start);
  return texts(svg.slice(start, end), 'tick')
    .map((s) => Number(s.replace('−', '-').replace(/,/g, '')))
    .filter((v) => Number.isFinite(v));
}

/** One random explanation for property tests (numbers and optional data). */
export function syntheticExplanation(values: number[][][], base: number[], data?: (number | string | null)[][]): Explanation {
  const m = values[0]?.length ?? 0;
  const k = base.length;
  return {
    schema: 'genome.explanation/v1',
    method: 'kernel_shap',
    values,
    baseValues: values.map(() => base.slice()),
    featureNames: Array.from({ length: m }, (_, i) => `f${i}`),
    outputNames: Array.from({ length: k }, (_, i) => `out${i}`),
    outputSpace: 'regression',
    ...(data ? { data } : {}),
    parameters: {},
    timings: { totalMs: 0 },
  };
}

/**
 * The value range an axis spans, read back from the SVG: the axis line's pixel ends mapped through the linear
 * relation of its first and last tick labels (tick labels are the scale's values at their positions).
 */
export function axisDomain(svg: string, orient: 'bottom' | 'left'): [number, number] {
  const start = svg.indexOf(`class="axis axis-${orient}"`);
  if (start < 0) throw new Error(`no ${orient} axis`);
  const part = svg.slice(start, svg.indexOf('</g>', start));
  const lines = [...part.matchAll(/<line x1="([-\d.]+)" x2="([-\d.]+)" y1="([-\d.]+)" y2="([-\d.]+)" stroke="#595959"/g)].map((m) => m.slice(1, 5).map(Number) as [number, number, number, number]);
  const axisLine = lines.find(([x1, x2, y1, y2]) => (orient === 'bottom' ? y1 === y2 && x1 !== x2 : x1 === x2 && y1 !== y2));
  if (!axisLine) throw new Error('no axis line');
  const ticks = [...part.matchAll(/<text x="([-\d.]+)" y="([-\d.]+)"[^>]*font-size="([\d.]+)" class="tick">([^<]*)<\/text>/g)].map((m) => ({
    px: orient === 'bottom' ? Number(m[1]) : Number(m[2]) - Number(m[3]) * 0.35,
    value: Number(m[4]!.replace('−', '-').replace(/,/g, '')),
  }));
  if (ticks.length < 2) throw new Error('fewer than two ticks');
  const a = ticks[0]!;
  const b = ticks[ticks.length - 1]!;
  const at = (px: number) => a.value + ((px - a.px) * (b.value - a.value)) / (b.px - a.px);
  const ends = orient === 'bottom' ? [at(axisLine[0]), at(axisLine[1])] : [at(axisLine[2]), at(axisLine[3])];
  return [Math.min(...ends), Math.max(...ends)];
}

/** lo..hi inside the axis domain (up to 1e-6 of its span for rounding of pixel positions). */
export function covers(domain: [number, number], lo: number, hi: number): boolean {
  const eps = (domain[1] - domain[0]) * 1e-6;
  return domain[0] <= lo + eps && domain[1] >= hi - eps;
}
