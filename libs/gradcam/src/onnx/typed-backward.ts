/**
 * Backward kernels of the typed-array head evaluator: each adds the gradient of one ONNX op's input (`dx`, float64)
 * given the gradient of its output (`dy`) and, for non-linear ops, the forward values onnxruntime computed. Plain
 * loops, no allocation; gradients accumulate (`+=`) so a tensor read by several ops sums their contributions.
 */
export type Values = Float32Array | Int32Array | Float64Array;

/** dx += dy (Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze), on [lo, hi). */
export function copyBackward(dx: Float64Array, dy: Float64Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) dx[i]! += dy[i]!;
}

export function reluBackward(dx: Float64Array, dy: Float64Array, x: Values, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) if (x[i]! > 0) dx[i]! += dy[i]!;
}

/** Clip / Relu6: gradient passes where lo <= x <= hi (TF.js clipByValue). */
export function clipBackward(dx: Float64Array, dy: Float64Array, x: Values, min: number, max: number, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const v = x[i]!;
    if (v >= min && v <= max) dx[i]! += dy[i]!;
  }
}

/** HardSwish `x * relu6(x + 3) / 6`: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above (PyTorch's hardswish_backward). */
export function hardSwishBackward(dx: Float64Array, dy: Float64Array, x: Values, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const v = x[i]!;
    if (v < -3) continue;
    dx[i]! += v <= 3 ? dy[i]! * (v / 3 + 0.5) : dy[i]!;
  }
}

/**
 * HardSigmoid `max(0, min(1, alpha x + beta))`: alpha where the float32 affine value lies strictly inside (0, 1),
 * as PyTorch's hardsigmoid_backward (`-3 < x < 3` for alpha 1/6, beta 1/2).
 */
export function hardSigmoidBackward(dx: Float64Array, dy: Float64Array, x: Values, alpha: number, beta: number, lo: number, hi: number): void {
  const a = Math.fround(alpha), b = Math.fround(beta);
  for (let i = lo; i < hi; i++) {
    const v = Math.fround(Math.fround(a * x[i]!) + b);
    if (v > 0 && v < 1) dx[i]! += a * dy[i]!;
  }
}

/** Sigmoid from its output y: dx += dy y (1 - y). */
export function sigmoidBackward(dx: Float64Array, dy: Float64Array, y: Values, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const s = y[i]!;
    dx[i]! += dy[i]! * s * (1 - s);
  }
}

/** Softmax over the middle axis of [outer, len, inner] from its output y: dx = y (dy - sum(dy y)). */
export function softmaxBackward(dx: Float64Array, dy: Float64Array, y: Values, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let dot = 0;
      for (let l = 0, p = base; l < len; l++, p += inner) dot += dy[p]! * y[p]!;
      for (let l = 0, p = base; l < len; l++, p += inner) dx[p]! += y[p]! * (dy[p]! - dot);
    }
  }
}

/** Per-channel scale (inference BatchNormalization): dx[.., c, ..] += mul[c] dy. */
export function scaleBackward(dx: Float64Array, dy: Float64Array, mul: Float64Array, inner: number, lo: number, hi: number): void {
  const C = mul.length;
  for (let i = lo; i < hi; i++) dx[i]! += mul[Math.floor(i / inner) % C]! * dy[i]!;
}

/** Reduction over the middle axis of [outer, red, inner] (GlobalAveragePool, ReduceMean, ReduceSum) with factor f, for output rows [o0, o1). */
export function reduceBackward(dx: Float64Array, dy: Float64Array, red: number, inner: number, f: number, o0: number, o1: number): void {
  for (let o = o0; o < o1; o++) {
    for (let r = 0; r < red; r++) {
      const xb = (o * red + r) * inner, yb = o * inner;
      for (let i = 0; i < inner; i++) dx[xb + i]! += f * dy[yb + i]!;
    }
  }
}

/**
 * Broadcasting binary op, y[o] = a[ia[o]] (op) b[ib[o]]; `ia` / `ib` map output elements to input elements
 * (undefined: same shape as y). Adds the gradients of the differentiable inputs (`da`, `db` undefined otherwise).
 */
export function binaryBackward(
  op: 'add' | 'sub' | 'mul' | 'div',
  dy: Float64Array,
  da: Float64Array | undefined,
  db: Float64Array | undefined,
  a: Values | undefined,
  b: Values | undefined,
  ia: Int32Array | undefined,
  ib: Int32Array | undefined,
): void {
  const n = dy.length;
  if (da) {
    if (op === 'add' || op === 'sub') {
      if (ia) for (let o = 0; o < n; o++) da[ia[o]!]! += dy[o]!;
      else for (let o = 0; o < n; o++) da[o]! += dy[o]!;
    } else if (op === 'mul') {
      const bv = b!;
      if (!ia && !ib) for (let o = 0; o < n; o++) da[o]! += dy[o]! * bv[o]!;
      else for (let o = 0; o < n; o++) da[ia ? ia[o]! : o]! += dy[o]! * bv[ib ? ib[o]! : o]!;
    } else {
      const bv = b!;
      for (let o = 0; o < n; o++) da[ia ? ia[o]! : o]! += dy[o]! / bv[ib ? ib[o]! : o]!;
    }
  }
  if (db) {
    if (op === 'add') {
      if (ib) for (let o = 0; o < n; o++) db[ib[o]!]! += dy[o]!;
      else for (let o = 0; o < n; o++) db[o]! += dy[o]!;
    } else if (op === 'sub') {
      if (ib) for (let o = 0; o < n; o++) db[ib[o]!]! -= dy[o]!;
      else for (let o = 0; o < n; o++) db[o]! -= dy[o]!;
    } else if (op === 'mul') {
      const av = a!;
      if (!ia && !ib) for (let o = 0; o < n; o++) db[o]! += dy[o]! * av[o]!;
      else for (let o = 0; o < n; o++) db[ib ? ib[o]! : o]! += dy[o]! * av[ia ? ia[o]! : o]!;
    } else {
      const av = a!, bv = b!;
      for (let o = 0; o < n; o++) {
        const j = ib ? ib[o]! : o;
        const q = bv[j]!;
        db[j]! -= (dy[o]! * av[ia ? ia[o]! : o]!) / (q * q);
      }
    }
  }
}

/**
 * The common squeeze-excitation / bias case of {@link binaryBackward}: `a` has y's shape and `b` is broadcast over
 * trailing axes only, so `b`'s element for output o is `floor(o / inner)`.
 */
export function rowBroadcastBackward(op: 'add' | 'sub' | 'mul' | 'div', dy: Float64Array, da: Float64Array | undefined, db: Float64Array | undefined, a: Values | undefined, b: Values | undefined, inner: number): void {
  const rows = dy.length / inner;
  for (let r = 0; r < rows; r++) {
    const o0 = r * inner;
    if (op === 'add' || op === 'sub') {
      let acc = 0;
      for (let o = o0; o < o0 + inner; o++) {
        if (da) da[o]! += dy[o]!;
        acc += dy[o]!;
      }
      if (db) db[r]! += op === 'add' ? acc : -acc;
    } else if (op === 'mul') {
      const bv = b ? b[r]! : 0;
      let acc = 0;
      if (da) for (let o = o0; o < o0 + inner; o++) da[o]! += dy[o]! * bv;
      if (db) {
        for (let o = o0; o < o0 + inner; o++) acc += dy[o]! * a![o]!;
        db[r]! += acc;
      }
    } else {
      const bv = b![r]!;
      if (da) for (let o = o0; o < o0 + inner; o++) da[o]! += dy[o]! / bv;
      if (db) {
        let acc = 0;
        for (let o = o0; o < o0 + inner; o++) acc += dy[o]! * a![o]!;
        db[r]! -= acc / (bv * bv);
      }
    }
  }
}

/**
 * Elements per row when `xShape` broadcast to `yShape` only along trailing axes (`x[r]` for output `o` at
 * `floor(o / inner)`), else 0.
 */
export function trailingBroadcast(xShape: readonly number[], yShape: readonly number[]): number {
  const px = [...Array<number>(yShape.length - xShape.length).fill(1), ...xShape];
  let k = px.length - 1;
  while (k >= 0 && px[k] === 1) k--;
  for (let i = 0; i <= k; i++) if (px[i] !== yShape[i]) return 0;
  let inner = 1;
  for (let i = k + 1; i < yShape.length; i++) inner *= yShape[i]!;
  return inner;
}

/** Maps each element of a `yShape` tensor to the element of a broadcast input of shape `xShape` (numpy rules). */
export function broadcastIndex(xShape: readonly number[], yShape: readonly number[]): Int32Array {
  const r = yShape.length;
  const px = [...Array<number>(r - xShape.length).fill(1), ...xShape];
  const strides = new Int32Array(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    strides[i] = px[i] === 1 ? 0 : acc;
    acc *= px[i]!;
  }
  let n = 1;
  for (const d of yShape) n *= d;
  const out = new Int32Array(n);
  const counter = new Int32Array(r);
  let xi = 0;
  for (let o = 0; o < n; o++) {
    out[o] = xi;
    for (let d = r - 1; d >= 0; d--) {
      counter[d]!++;
      xi += strides[d]!;
      if (counter[d]! < yShape[d]!) break;
      xi -= strides[d]! * counter[d]!;
      counter[d] = 0;
    }
  }
  return out;
}

export interface PoolShape {
  planes: number; H: number; W: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; hLim: number; wLim: number; includePad: boolean;
}

/** Gradient to the first maximum of each window (row-major, strict >), as PyTorch and TF.js; padding is -inf. Planes [c0, c1). */
export function maxPoolBackward(dx: Float64Array, dy: Float64Array, x: Values, p: PoolShape, c0: number, c1: number): void {
  const { H, W, OH, OW, sh, sw, pt, pl, kh, kw } = p;
  for (let c = c0; c < c1; c++) {
    const xb = c * H * W, yb = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - pt, y0 = Math.max(h0, 0), y1 = Math.min(h0 + kh, H);
      for (let ow = 0; ow < OW; ow++) {
        const g = dy[yb + oh * OW + ow]!;
        if (g === 0) continue;
        const w0 = ow * sw - pl, x0 = Math.max(w0, 0), x1 = Math.min(w0 + kw, W);
        let best = Number.NEGATIVE_INFINITY, at = -1;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const v = x[xb + yy * W + xx]!;
            if (v > best) {
              best = v;
              at = xb + yy * W + xx;
            }
          }
        }
        if (at >= 0) dx[at]! += g;
      }
    }
  }
}

/** Average pool: each output spreads dy / count over its window (count with or without padding cells, never the ceil_mode overhang). Planes [c0, c1). */
export function avgPoolBackward(dx: Float64Array, dy: Float64Array, p: PoolShape, c0: number, c1: number): void {
  const { H, W, OH, OW } = p;
  for (let c = c0; c < c1; c++) {
    const xb = c * H * W, yb = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * p.sh - p.pt, y0 = Math.max(h0, 0), y1 = Math.min(h0 + p.kh, H);
      const ch = p.includePad ? Math.min(h0 + p.kh, p.hLim) - Math.max(h0, -p.pt) : y1 - y0;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * p.sw - p.pl, x0 = Math.max(w0, 0), x1 = Math.min(w0 + p.kw, W);
        const cw = p.includePad ? Math.min(w0 + p.kw, p.wLim) - Math.max(w0, -p.pl) : x1 - x0;
        const g = dy[yb + oh * OW + ow]! / (ch * cw);
        if (!(ch * cw > 0) || g === 0) continue;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) dx[xb + yy * W + xx]! += g;
      }
    }
  }
}

function planeIsZero(a: Float64Array, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) if (a[i] !== 0) return false;
  return true;
}

/**
 * 1x1 stride-1 convolution, one image: dx[c, s] += sum_m W[m, c] dy[m, s] over the output channels m in [m0, m1)
 * whose gradient plane is not zero (`live` is scratch of M entries), four channels per pass over dx.
 */
export function pointwiseConvBackward(dx: Float64Array, dy: Float64Array, w: Values, C: number, M: number, S: number, m0: number, m1: number, live: Int32Array): void {
  let k = 0;
  for (let m = m0; m < m1; m++) if (!planeIsZero(dy, m * S, S)) live[k++] = m;
  let j = 0;
  for (; j + 4 <= k; j += 4) {
    const ma = live[j]!, mb = live[j + 1]!, mc = live[j + 2]!, md = live[j + 3]!;
    const ya = ma * S, yb = mb * S, yc = mc * S, yd = md * S;
    for (let c = 0; c < C; c++) {
      const wa = w[ma * C + c]!, wb = w[mb * C + c]!, wc = w[mc * C + c]!, wd = w[md * C + c]!;
      const xb = c * S;
      for (let s = 0; s < S; s++) dx[xb + s]! += wa * dy[ya + s]! + wb * dy[yb + s]! + wc * dy[yc + s]! + wd * dy[yd + s]!;
    }
  }
  for (; j < k; j++) {
    const m = live[j]!;
    const yb = m * S;
    for (let c = 0; c < C; c++) {
      const wv = w[m * C + c]!;
      if (wv === 0) continue;
      const xb = c * S;
      for (let s = 0; s < S; s++) dx[xb + s]! += wv * dy[yb + s]!;
    }
  }
}

export interface ConvShape {
  C: number; H: number; W: number; M: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; group: number; owLo: Int32Array; owHi: Int32Array;
}

/** Depthwise convolution (group = C = M), one image: each output cell scatters its gradient over its window, channels [m0, m1). */
export function depthwiseConvBackward(dx: Float64Array, dy: Float64Array, w: Values, p: ConvShape, m0: number, m1: number): void {
  const { H, W, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl } = p;
  for (let c = m0; c < m1; c++) {
    const yb = c * OH * OW, xb = c * H * W, wb = c * kh * kw;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const g = dy[yb + oh * OW + ow]!;
        if (g === 0) continue;
        const iw0 = ow * sw - pl;
        for (let ky = 0; ky < kh; ky++) {
          const ih = ih0 + ky * dh;
          if (ih < 0 || ih >= H) continue;
          const row = xb + ih * W, wr = wb + ky * kw;
          for (let kx = 0; kx < kw; kx++) {
            const iw = iw0 + kx * dw;
            if (iw >= 0 && iw < W) dx[row + iw]! += w[wr + kx]! * g;
          }
        }
      }
    }
  }
}

/** General grouped, strided, dilated, padded convolution, one image: the transpose of the forward scatter, weight by weight, for output channels [m0, m1). */
export function convBackward(dx: Float64Array, dy: Float64Array, w: Values, p: ConvShape, m0: number, m1: number): void {
  const { C, H, W, M, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl } = p;
  const Mg = M / p.group, Cg = C / p.group;
  for (let m = m0; m < m1; m++) {
    const yb = m * OH * OW;
    if (planeIsZero(dy, yb, OH * OW)) continue;
    const g = Math.floor(m / Mg);
    for (let ci = 0; ci < Cg; ci++) {
      const xb = (g * Cg + ci) * H * W;
      const wb = (m * Cg + ci) * kh * kw;
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = w[wb + ky * kw + kx]!;
          if (wv === 0) continue;
          const lo = p.owLo[kx]!, hi = p.owHi[kx]!;
          if (lo >= hi) continue;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh - pt + ky * dh;
            if (ih < 0 || ih >= H) continue;
            const row = xb + ih * W - pl + kx * dw;
            const yr = yb + oh * OW;
            for (let ow = lo; ow < hi; ow++) dx[row + ow * sw]! += wv * dy[yr + ow]!;
          }
        }
      }
    }
  }
}

/**
 * dA = alpha dY B'^T (transposed back when transA), with bt = B'^T laid out [cols, K]; four output columns per
 * pass over a row of dA, skipping groups whose gradient is zero (one-hot seeds).
 */
export function gemmBackward(da: Float64Array, dy: Float64Array, bt: Float32Array, rows: number, K: number, cols: number, alpha: number, transA: boolean): void {
  for (let i = 0; i < rows; i++) {
    const yr = i * cols;
    let j = 0;
    if (!transA) {
      const a = i * K;
      for (; j + 4 <= cols; j += 4) {
        const g0 = alpha * dy[yr + j]!, g1 = alpha * dy[yr + j + 1]!, g2 = alpha * dy[yr + j + 2]!, g3 = alpha * dy[yr + j + 3]!;
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        for (let k = 0; k < K; k++) da[a + k]! += g0 * bt[b0 + k]! + g1 * bt[b1 + k]! + g2 * bt[b2 + k]! + g3 * bt[b3 + k]!;
      }
    }
    for (; j < cols; j++) {
      const g = alpha * dy[yr + j]!;
      if (g === 0) continue;
      const b = j * K;
      if (!transA) {
        const a = i * K;
        for (let k = 0; k < K; k++) da[a + k]! += g * bt[b + k]!;
      } else {
        for (let k = 0; k < K; k++) da[k * rows + i]! += g * bt[b + k]!;
      }
    }
  }
}
