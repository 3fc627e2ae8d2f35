/** The output links of tree models that TreeSHAP's `probability` output applies (shap's `model_output`). */
export type Link = 'identity' | 'logistic' | 'softmax';

/** Applies the link to `n` margins starting at `src[off]`, writing `dst[0..n)`. */
export function applyLink(link: Link, src: Float64Array, off: number, n: number, dst: Float64Array): void {
  if (link === 'identity') {
    for (let o = 0; o < n; o++) dst[o] = src[off + o];
  } else if (link === 'logistic') {
    for (let o = 0; o < n; o++) dst[o] = 1 / (1 + Math.exp(-src[off + o]));
  } else {
    let mx = -Infinity;
    for (let o = 0; o < n; o++) if (src[off + o] > mx) mx = src[off + o];
    let s = 0;
    for (let o = 0; o < n; o++) {
      dst[o] = Math.exp(src[off + o] - mx);
      s += dst[o];
    }
    for (let o = 0; o < n; o++) dst[o] /= s;
  }
}
