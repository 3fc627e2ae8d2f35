/**
 * A MobileNetV3-small-style ONNX CNN built with model-format's protobuf writer (tests and benchmarks): 128x128
 * RGB input, HardSwish stem, inverted residual blocks with depthwise 3x3 / 5x5 convolutions, squeeze-excitation
 * (GlobalAveragePool, 1x1 conv, Relu, 1x1 conv, HardSigmoid, broadcast Mul), residual Adds, a 1x1 conv to 576
 * channels with HardSwish (the last feature block, as torchvision's `features[-1]`), and torchvision's classifier
 * (GlobalAveragePool, Flatten, Gemm 576->1024, HardSwish, Dropout, Gemm 1024->1000). Batch normalization is folded
 * into the convolution biases, as a PyTorch export in eval mode does. Weights are deterministic pseudo-random
 * (He-scaled), so activations keep a sensible range through the network.
 */
import { buildModel, type InitializerSpec, type NodeSpec } from '../../../tools/onnx-build.js';

/** Tensor names of interest in {@link mobileNetV3Small}. */
export const MOBILENET_V3 = {
  /** Output of the last feature block (1x1 conv 48->576 + HardSwish), 576x4x4: head = pool, Linear, HardSwish, Dropout, Linear. */
  lastBlock: 'features.last',
  /** Output of the sixth inverted residual block, 48x4x4: the head also runs the last block (HardSwish, squeeze-excitation, residual Add). */
  block6: 'block6.out',
  /** Output of the fifth inverted residual block, 40x8x8: the head also runs two blocks with HardSwish and squeeze-excitation (one with a stride-2 depthwise conv). */
  block5: 'block5.out',
  input: 'input',
  output: 'logits',
} as const;

/** Deterministic pseudo-normal values (sum of 4 uniforms from an LCG, centred, unit variance). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return () => (u() + u() + u() + u() - 2) * Math.sqrt(3);
}

export function mobileNetV3Small(options: { classes?: number; size?: number } = {}): Uint8Array {
  const classes = options.classes ?? 1000;
  const size = options.size ?? 128;
  const nodes: NodeSpec[] = [];
  const init: InitializerSpec[] = [];
  const rand = rng(20261206);
  let k = 0;
  const param = (dims: number[], scale: number): string => {
    const name = `p${k++}`;
    const n = dims.reduce((a, b) => a * b, 1);
    init.push({ name, dims, data: Float32Array.from({ length: n }, () => rand() * scale) });
    return name;
  };
  const conv = (x: string, cin: number, cout: number, kernel: number, stride: number, group: number, out: string): string => {
    const fanIn = (cin / group) * kernel * kernel;
    const w = param([cout, cin / group, kernel, kernel], Math.sqrt(2 / fanIn));
    const b = param([cout], 0.05);
    const p = (kernel - 1) >> 1;
    nodes.push({ op: 'Conv', inputs: [x, w, b], outputs: [out], attrs: [{ name: 'kernel_shape', ints: [kernel, kernel] }, { name: 'strides', ints: [stride, stride] }, { name: 'pads', ints: [p, p, p, p] }, { name: 'group', i: group }] });
    return out;
  };
  const act = (x: string, kind: 'HardSwish' | 'Relu', out: string): string => {
    nodes.push({ op: kind, inputs: [x], outputs: [out] });
    return out;
  };
  const se = (x: string, c: number, squeeze: number, pre: string): string => {
    nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: [`${pre}.se.pool`] });
    const f1 = act(conv(`${pre}.se.pool`, c, squeeze, 1, 1, 1, `${pre}.se.fc1`), 'Relu', `${pre}.se.relu`);
    const f2 = conv(f1, squeeze, c, 1, 1, 1, `${pre}.se.fc2`);
    nodes.push({ op: 'HardSigmoid', inputs: [f2], outputs: [`${pre}.se.scale`], attrs: [{ name: 'alpha', f: 1 / 6 }, { name: 'beta', f: 0.5 }] });
    nodes.push({ op: 'Mul', inputs: [x, `${pre}.se.scale`], outputs: [`${pre}.se.out`] });
    return `${pre}.se.out`;
  };
  // [expand, out, kernel, stride, SE, activation] as torchvision's mobilenet_v3_small (first blocks), narrower tail
  const blocks: [number, number, number, number, boolean, 'HardSwish' | 'Relu'][] = [
    [16, 16, 3, 2, true, 'Relu'],
    [72, 24, 3, 2, false, 'Relu'],
    [88, 24, 3, 1, false, 'Relu'],
    [96, 40, 5, 2, true, 'HardSwish'],
    [240, 40, 5, 1, true, 'HardSwish'],
    [144, 48, 5, 2, true, 'HardSwish'],
    [288, 48, 5, 1, true, 'HardSwish'],
  ];
  let x = act(conv(MOBILENET_V3.input, 3, 16, 3, 2, 1, 'stem.conv'), 'HardSwish', 'stem.out');
  let c = 16;
  blocks.forEach(([exp, out, kernel, stride, useSe, a], i) => {
    const pre = `block${i + 1}`;
    let h = x;
    if (exp !== c) h = act(conv(h, c, exp, 1, 1, 1, `${pre}.expand`), a, `${pre}.expand.act`);
    h = act(conv(h, exp, exp, kernel, stride, exp, `${pre}.dw`), a, `${pre}.dw.act`);
    if (useSe) h = se(h, exp, Math.max(8, Math.round(exp / 4 / 8) * 8), pre);
    h = conv(h, exp, out, 1, 1, 1, stride === 1 && out === c ? `${pre}.project` : `${pre}.out`);
    if (stride === 1 && out === c) nodes.push({ op: 'Add', inputs: [h, x], outputs: [`${pre}.out`] });
    x = `${pre}.out`;
    c = out;
  });
  act(conv(x, c, 576, 1, 1, 1, 'features.conv'), 'HardSwish', MOBILENET_V3.lastBlock);
  nodes.push({ op: 'GlobalAveragePool', inputs: [MOBILENET_V3.lastBlock], outputs: ['pool'] });
  nodes.push({ op: 'Flatten', inputs: ['pool'], outputs: ['flat'], attrs: [{ name: 'axis', i: 1 }] });
  const g1 = param([1024, 576], Math.sqrt(2 / 576));
  const g1b = param([1024], 0.05);
  nodes.push({ op: 'Gemm', inputs: ['flat', g1, g1b], outputs: ['fc1'], attrs: [{ name: 'transB', i: 1 }] });
  act('fc1', 'HardSwish', 'fc1.act');
  nodes.push({ op: 'Dropout', inputs: ['fc1.act'], outputs: ['drop'] });
  const g2 = param([classes, 1024], Math.sqrt(1 / 1024));
  const g2b = param([classes], 0.05);
  nodes.push({ op: 'Gemm', inputs: ['drop', g2, g2b], outputs: [MOBILENET_V3.output], attrs: [{ name: 'transB', i: 1 }] });
  return buildModel(nodes, [MOBILENET_V3.input, ['N', 3, size, size]], [MOBILENET_V3.output, ['N', classes]], init);
}
