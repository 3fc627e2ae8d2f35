/** Coefficients of a linear or logistic model (one output) as signed horizontal bars. */
import type { LinearModel } from '@genome/model-format';
import type { ChartOptions } from '../core/chart.js';
import { intOption, invalid, sizeOption } from '../core/chart.js';
import { formatNumber, formatSigned } from '../core/format.js';
import { signColor } from '../core/palette.js';
import { svgDocument } from '../core/svg.js';
import { header, horizontalBars, linkName, namesOption } from './common.js';

export interface CoefficientsOptions extends ChartOptions {
  /** Output (index or name) whose coefficients are drawn; default: the last one (the positive class of a binary classifier). */
  output?: number | string;
  /** Most bars drawn (largest |coefficient| first, default 20); the others are counted in a note. */
  maxDisplay?: number;
  /** Feature names (the ONNX file stores none); default `x0`, `x1`, … */
  featureNames?: readonly string[];
}

function checkModel(model: LinearModel): void {
  if (model === null || typeof model !== 'object' || !(model.coefficients instanceof Float64Array) || !(model.intercepts instanceof Float64Array)) {
    invalid('coefficientsSvg needs a LinearModel (from loadOnnxLinearModel)');
  }
  const { nFeatures: F, nOutputs: K } = model;
  if (!Number.isInteger(F) || F < 0 || !Number.isInteger(K) || K < 1) invalid(`the linear model has an invalid shape (${F} features, ${K} outputs)`);
  if (model.coefficients.length !== F * K) invalid(`the linear model has ${model.coefficients.length} coefficients, expected ${K} x ${F}`);
  if (model.intercepts.length !== K) invalid(`the linear model has ${model.intercepts.length} intercepts, expected ${K}`);
}

/** Index of the output drawn: a number, an output name, or the last output. */
export function linearOutputIndex(model: LinearModel, output: number | string | undefined): number {
  const K = model.nOutputs;
  if (output === undefined) return K - 1;
  if (typeof output === 'string') {
    const i = model.outputNames.indexOf(output);
    if (i < 0) invalid(`output ${JSON.stringify(output.slice(0, 100))} is not one of the model's outputs: ${model.outputNames.slice(0, 20).join(', ')}`);
    return i;
  }
  if (typeof output !== 'number' || !Number.isInteger(output) || output < 0 || output >= K) invalid(`output must be an integer in [0, ${K - 1}] or an output name, got ${String(output).slice(0, 40)}`);
  return output;
}

/**
 * Horizontal bar chart of a linear model's coefficients for one output: bars sorted by |coefficient|, coloured by
 * sign, each labelled with its value; the subtitle names the output, the link and the intercept. Kind `coefficients`.
 */
export function coefficientsSvg(model: LinearModel, options: CoefficientsOptions = {}): string {
  checkModel(model);
  const k = linearOutputIndex(model, options.output);
  const F = model.nFeatures;
  const names = namesOption(options.featureNames, F, (i) => `x${i}`);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 20, 1, 1000);
  const width = sizeOption('width', options.width, 640);
  const fs = sizeOption('fontSize', options.fontSize, 12, 72);
  const coef = model.coefficients.subarray(k * F, (k + 1) * F);
  const order = Array.from({ length: F }, (_, i) => i).sort((a, b) => Math.abs(coef[b]!) - Math.abs(coef[a]!) || a - b);
  const shown = order.slice(0, maxDisplay);
  const rest = order.length - shown.length;
  const outName = model.outputNames[k] ?? `output ${k}`;
  const title = options.title ?? `Coefficients — ${/^-?\d+$/.test(outName) ? `class ${outName}` : outName}`;
  const kind = model.source?.op ?? 'linear model';
  const subtitles = [
    `${kind}, output ${k + 1} of ${model.nOutputs} (${outName}) · intercept ${formatSigned(model.intercepts[k]!)} · ${F} feature${F === 1 ? '' : 's'}`,
    `link: ${linkName(model.link)} · bars: change of the margin per unit of the feature`,
  ];
  const head = header(title, subtitles, width, fs);
  const bars = horizontalBars({
    x: 16,
    y: head.height + 4,
    width: width - 32,
    fontSize: fs,
    series: 'coefficients',
    axisLabel: 'coefficient (margin per unit of feature)',
    items: shown.map((f) => ({
      label: names[f]!,
      value: coef[f]!,
      color: signColor(coef[f]!),
      valueLabel: formatSigned(coef[f]!),
      attrs: { 'data-feature': names[f]!, 'data-index': f, 'data-value': String(coef[f]!) },
    })),
    ...(rest > 0 ? { note: `… ${rest} other feature${rest === 1 ? '' : 's'} (|coefficient| ≤ ${formatNumber(Math.abs(coef[order[shown.length]!]!))})` } : {}),
  });
  const height = options.height !== undefined ? sizeOption('height', options.height, 0) : Math.ceil(head.height + 4 + bars.height + 8);
  return svgDocument(
    { kind: 'coefficients', title, width, height, fontSize: fs, description: `${subtitles.join('. ')}.` },
    head.svg,
    bars.svg,
  );
}
