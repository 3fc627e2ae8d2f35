/**
 * Real explanations for the explainer-chart tests, made by @genome/gradcam and @genome/lime on the shared
 * fixtures (mnist-8 and SqueezeNet ONNX CNNs, SMS spam texts, a small tabular model), and SVG/HTML checks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Explanation, Matrix, Predictor, TextPredictor } from '@genome/model-format';
import { decodeImage, explainImages, loadCamModel, type CamMethod, type RgbaImage } from '@genome/gradcam';
import { AnchorTabular, AnchorText, LimeTabularExplainer, LimeTextExplainer } from '@genome/lime';
import { fixture, readFixture, readFixtureText } from '../../../tools/fixtures.js';

export const OUT_DIR = '/tmp/viz-explainers';

/** Writes a picture once per test run for a look with an image viewer. */
export function savePicture(name: string, png: Uint8Array): void {
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(`${OUT_DIR}/${name}.png`, png);
}

// ---------------------------------------------------------------------------------------------------- Grad-CAM

export const MNIST_DIGITS = ['0', '3', '5', '7'] as const;

/** mnist-8 digits as JPEG bytes (28x28 grey). */
export function mnistJpegs(): Uint8Array[] {
  return MNIST_DIGITS.map((d) => new Uint8Array(readFixture('data', 'images', 'mnist', `${d}.jpg`)));
}

/** CAM explanations of the mnist-8 digits, one per method (all four digits, or `{ topK }` classes of one digit). */
export async function mnistCams(methods: readonly CamMethod[], opts: { digits?: number[]; topK?: number } = {}): Promise<{ explanations: Explanation[]; images: RgbaImage[]; jpegs: Uint8Array[] }> {
  const model = await loadCamModel(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), { target: 'ReLU114_Output_0' });
  try {
    const all = mnistJpegs();
    const jpegs = (opts.digits ?? [0, 1, 2, 3]).map((i) => all[i]!);
    const explanations: Explanation[] = [];
    let images: RgbaImage[] = [];
    for (const method of methods) {
      const res = await explainImages(model, jpegs, {
        preprocessing: { width: 28, height: 28, channels: 1, layout: 'NCHW', channelOrder: 'GRAY' },
        method,
        outputNames: Array.from({ length: 10 }, (_, k) => `digit ${k}`),
        ...(opts.topK ? { targets: { topK: opts.topK } } : {}),
      });
      explanations.push(res.explanation);
      images = res.images;
    }
    return { explanations, images, jpegs };
  } finally {
    await model.dispose();
  }
}

/** Grad-CAM of SqueezeNet 1.1 (the shared oracle model, 128x128 ImageNet input) on a 224x224 cat photo, center-cropped. */
export async function squeezenetCat(): Promise<{ explanation: Explanation; image: RgbaImage; jpeg: Uint8Array }> {
  const model = await loadCamModel(fixture('oracles', 'cams', 'squeezenet1_1', 'model.onnx'), { target: '/features/features.12/Concat_output_0' });
  try {
    const jpeg = new Uint8Array(readFixture('data', 'images', 'gradcam', 'cat.jpg'));
    const res = await explainImages(model, [jpeg], {
      preprocessing: {
        width: 128,
        height: 128,
        channels: 3,
        layout: 'NCHW',
        scale: 1 / 255,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        resize: 'center-crop',
      },
      method: 'gradcam',
    });
    return { explanation: res.explanation, image: res.images[0]!, jpeg };
  } finally {
    await model.dispose();
  }
}

export { decodeImage };

// ---------------------------------------------------------------------------------------------------- text

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((t) => t.length > 0);
}

export function loadSms(): { text: string; label: number }[] {
  const out: { text: string; label: number }[] = [];
  for (const l of readFixtureText('data', 'text', 'sms_spam.tsv').split(/\r?\n/).slice(1)) {
    const tab = l.indexOf('\t');
    if (tab > 0) out.push({ label: l.slice(0, tab) === 'spam' ? 1 : 0, text: l.slice(tab + 1) });
  }
  return out;
}

/** A bag-of-words logistic spam filter trained on the SMS spam fixture (full-batch gradient descent with momentum). */
export function trainSpamModel(): TextPredictor & { score(text: string): number } {
  const docs = loadSms();
  const counts = new Map<string, number>();
  const toks = docs.map((d) => [...new Set(tokenize(d.text))]);
  for (const ts of toks) for (const t of ts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [t, c] of counts) if (c >= 3) vocab.set(t, vocab.size);
  const idx = toks.map((ts) => ts.map((t) => vocab.get(t)).filter((j): j is number => j !== undefined));
  const w = new Float64Array(vocab.size);
  const g = new Float64Array(vocab.size);
  const v = new Float64Array(vocab.size);
  let b = 0;
  let vb = 0;
  for (let it = 0; it < 300; it++) {
    g.fill(0);
    let gb = 0;
    docs.forEach((d, i) => {
      let s = b;
      for (const j of idx[i]!) s += w[j]!;
      const r = sigmoid(s) - d.label;
      gb += r;
      for (const j of idx[i]!) g[j] += r;
    });
    for (let j = 0; j < w.length; j++) {
      v[j] = 0.9 * v[j]! + (g[j]! / docs.length + 1e-4 * w[j]!);
      w[j] -= 2 * v[j]!;
    }
    vb = 0.9 * vb + gb / docs.length;
    b -= 2 * vb;
  }
  const score = (text: string): number => {
    let s = b;
    const seen = new Set<number>();
    for (const t of tokenize(text)) {
      const j = vocab.get(t);
      if (j !== undefined && !seen.has(j)) {
        seen.add(j);
        s += w[j]!;
      }
    }
    return sigmoid(s);
  };
  return {
    kind: 'text',
    outputNames: ['ham', 'spam'],
    outputSpace: 'probability',
    score,
    async predict(texts: readonly string[]): Promise<Matrix> {
      const out = new Float64Array(texts.length * 2);
      texts.forEach((t, i) => {
        const p = score(t);
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      });
      return { data: out, rows: texts.length, cols: 2 };
    },
  };
}

let spam: ReturnType<typeof trainSpamModel> | undefined;
export function spamModel(): ReturnType<typeof trainSpamModel> {
  return (spam ??= trainSpamModel());
}

/** A spam message of the fixture. */
export const SPAM_TEXT = 'FreeMsg: Txt: CALL to No: 86888 & claim your reward of 3 hours talk time to use from your phone now! Subscribe6GBP/mnth inc 3hrs 16 stop?txtStop';

export async function limeTextExplanation(text = SPAM_TEXT): Promise<Explanation> {
  return new LimeTextExplainer({ seed: 1 }).explain(spamModel(), text, { numFeatures: 8, numSamples: 1500 });
}

export async function anchorTextExplanation(text = SPAM_TEXT): Promise<Explanation> {
  return new AnchorText({ seed: 3 }).explain(spamModel(), text);
}

// ---------------------------------------------------------------------------------------------------- tabular

export const TAB_FEATURES = ['age', 'status', 'hours'];
export const TAB_CATEGORIES: Record<number, string[]> = { 1: ['single', 'married', 'divorced'] };

/** The README's income model: P(yes) rises with age and is higher for married people. */
export const incomeModel: Predictor = {
  kind: 'tabular',
  nFeatures: 3,
  outputNames: ['no', 'yes'],
  outputSpace: 'probability',
  async predict(rows: Float64Array, n: number): Promise<Matrix> {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(0.05 * (rows[3 * i]! - 40) + (rows[3 * i + 1] === 1 ? 1.5 : 0) - 0.02 * (rows[3 * i + 2]! - 20));
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    }
    return { data: out, rows: n, cols: 2 };
  },
};

export const TAB_TRAINING = Array.from({ length: 1000 }, (_, i) => [20 + (i % 50), i % 3, (i * 7) % 40]);

export async function limeTabularExplanation(rows: number[][] = [[55, 1, 38]]): Promise<Explanation> {
  const lime = new LimeTabularExplainer({ trainingData: TAB_TRAINING, featureNames: TAB_FEATURES, categoricalFeatures: [1], categoricalNames: TAB_CATEGORIES, seed: 42 });
  return lime.explain(incomeModel, rows, { numFeatures: 3, numSamples: 2000 });
}

export async function anchorTabularExplanation(row: number[] = [55, 1, 38]): Promise<Explanation> {
  const anchors = new AnchorTabular({ trainingData: TAB_TRAINING, featureNames: TAB_FEATURES, categoricalNames: TAB_CATEGORIES, seed: 7 });
  return anchors.explain(incomeModel, row, { threshold: 0.95 });
}

// ---------------------------------------------------------------------------------------------------- markup checks

const VOID_HTML = new Set(['meta', 'br', 'img', 'link', 'hr', 'input']);

/**
 * Checks that `markup` is well formed: every tag closed in order, attributes quoted, only known entities, no raw
 * `<` or `>` in text. Returns the problems (empty = fine) and the tag names seen.
 */
export function checkMarkup(markup: string, opts: { html?: boolean } = {}): { problems: string[]; tags: Map<string, number> } {
  const problems: string[] = [];
  const tags = new Map<string, number>();
  const stack: string[] = [];
  let s = markup;
  if (opts.html) s = s.replace(/^<!doctype html>\s*/i, '');
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+(?:="[^"<]*")?)*)\s*(\/?)>/y;
  let text = '';
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const chunk = lt < 0 ? s.slice(i) : s.slice(i, lt);
    text += chunk;
    if (lt < 0) break;
    tagRe.lastIndex = lt;
    const m = tagRe.exec(s);
    if (!m) {
      problems.push(`malformed tag at ${lt}: ${JSON.stringify(s.slice(lt, lt + 60))}`);
      i = lt + 1;
      continue;
    }
    const [, close, name, , selfClose] = m;
    const tag = name!.toLowerCase();
    if (close) {
      const open = stack.pop();
      if (open !== tag) problems.push(`</${tag}> closes <${open}> at ${lt}`);
    } else {
      tags.set(tag, (tags.get(tag) ?? 0) + 1);
      if (!selfClose && !(opts.html && VOID_HTML.has(tag))) stack.push(tag);
    }
    i = tagRe.lastIndex;
  }
  if (stack.length > 0) problems.push(`unclosed tags: ${stack.join(', ')}`);
  if (/>/.test(text)) problems.push('raw > in text');
  const badEntity = /&(?!(?:amp|lt|gt|quot|#39|#160|#\d+);)/.exec(text);
  if (badEntity) problems.push(`bad entity at ${badEntity.index}: ${JSON.stringify(text.slice(badEntity.index, badEntity.index + 12))}`);
  return { problems, tags };
}

/** Number of elements with `class` containing `name` (as a whole word). */
export function countClass(markup: string, name: string): number {
  const re = /class="([^"]*)"/g;
  let n = 0;
  for (const m of markup.matchAll(re)) if (m[1]!.split(/\s+/).includes(name)) n++;
  return n;
}

/** The `href` data URIs of `<image>` elements with the given class, decoded. */
export function imageHrefs(svg: string, cls: string): { mime: string; bytes: Buffer }[] {
  const out: { mime: string; bytes: Buffer }[] = [];
  for (const m of svg.matchAll(/<image\b([^>]*)\/>/g)) {
    const attrs = m[1]!;
    if (!new RegExp(`class="[^"]*\\b${cls}\\b`).test(attrs)) continue;
    const href = /href="data:(image\/[a-z]+);base64,([^"]+)"/.exec(attrs);
    if (href) out.push({ mime: href[1]!, bytes: Buffer.from(href[2]!, 'base64') });
  }
  return out;
}

/** PNG size from IHDR. */
export function pngHeaderSize(png: Uint8Array): { width: number; height: number } {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** Counts of non-white pixels and distinct colours (quantised to 4 bits per channel). */
export function pixelStats(pixels: Uint8Array): { nonWhite: number; colours: number; total: number } {
  let nonWhite = 0;
  const colours = new Set<number>();
  for (let i = 0; i < pixels.length; i += 4) {
    const r = pixels[i]!, g = pixels[i + 1]!, b = pixels[i + 2]!;
    if (r < 245 || g < 245 || b < 245) nonWhite++;
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
  }
  return { nonWhite, colours: colours.size, total: pixels.length / 4 };
}
