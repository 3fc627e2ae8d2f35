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

/** Checks a positive size option (width, height, fontSize, maxDisplay) and returns it or the default. */
export function sizeOption(name: string, value: number | undefined, fallback: number, max = 10_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new VizError('INVALID_INPUT', `${name} must be a number in (0, ${max}], got ${String(value).slice(0, 40)}`);
  }
  return value;
}
