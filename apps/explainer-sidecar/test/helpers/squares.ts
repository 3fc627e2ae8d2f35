/** The small CNN fixture (small-cnn-squares) as a Genome package that takes PNG bytes, and a PNG of its oracle input. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '@genome/gradcam';
import { fixture, readFixtureJson } from '../../../../tools/fixtures.js';

export interface CamRef {
  target_class: number;
  input_shape: number[];
  input: number[][][];
  gradcam: number[][];
  target_tensor: string;
}

export interface SquaresInput {
  /** The oracle's input (CHW in [0, 1]) as an 8-bit RGBA PNG. */
  png: Buffer;
  /** The same quantised pixels as a float tensor [C][H][W], row-major. */
  quantised: Float32Array;
  shape: [number, number, number, number];
  ref: CamRef;
}

/** Writes the package (genome.json + model.onnx, with an input.image block) into `dir`; returns its input image. */
export function squaresPackage(dir: string): SquaresInput {
  const ref = readFixtureJson<CamRef>('oracles', 'cams', 'small-cnn-squares', 'reference.json');
  const [, C, H, W] = ref.input_shape as [number, number, number, number];
  writeFileSync(join(dir, 'model.onnx'), readFileSync(fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx')));
  writeFileSync(
    join(dir, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1',
      name: 'squares',
      version: '1.0.0',
      framework: 'onnx',
      task: 'multiclass',
      artifacts: { model: 'model.onnx' },
      input: { modality: 'image', image: { width: W, height: H, channels: C, layout: 'NCHW', channelOrder: 'RGB', scale: 1 / 255 } },
      output: { space: 'raw', classes: ['top-left', 'top-right', 'bottom-left', 'bottom-right'] },
      explainer: { default: 'gradcam' },
    }),
  );
  const rgba = new Uint8Array(W * H * 4);
  const quantised = new Float32Array(C * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        const q = Math.min(255, Math.max(0, Math.round(ref.input[c]![y]![x]! * 255)));
        rgba[(y * W + x) * 4 + c] = q;
        quantised[c * H * W + y * W + x] = q / 255;
      }
      rgba[(y * W + x) * 4 + 3] = 255;
    }
  }
  return { png: Buffer.from(encodePng({ width: W, height: H, data: rgba })), quantised, shape: [1, C, H, W], ref };
}
