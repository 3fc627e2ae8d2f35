import { VizError } from '../errors.js';

/** Options every chart takes. */
export interface ChartOptions {
  /** Width of the picture in px (each chart has its own default). */
  width?: number;
  /** Height in px (most charts size themselves from their content). */
  height?: number;
  /** Title drawn on top (defaults describe the chart and the explained output). */
  title?: string;
  /** Base font size in px (default 12). */
  fontSize?: number;
}

/** Throws the INVALID_INPUT error every chart raises for a bad option or input; `message` says what to fix. */
export function invalid(message: string): never {
  throw new VizError('INVALID_INPUT', message);
}

/** An integer option (maxDisplay, maxRows, tree, maxDepth, …) in [min, max], or its default. */
export function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer in [${min}, ${max}], got ${String(value).slice(0, 40)}`);
  }
  return value;
}

/** Checks a positive size option (width, height, fontSize, maxDisplay) and returns it or the default. */
export function sizeOption(name: string, value: number | undefined, fallback: number, max = 10_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    invalid(`${name} must be a number in (0, ${max}], got ${String(value).slice(0, 40)}`);
  }
  return value;
}
