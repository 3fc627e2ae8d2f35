/**
 * KL-divergence confidence bounds on Bernoulli means used by the KL-LUCB bandit (Kaufmann & Kalyanakrishnan
 * 2013) as in alibi's `AnchorBaseBeam` (`dup_bernoulli`, `dlow_bernoulli`, `compute_beta`).
 */

/** KL(Bernoulli(p) || Bernoulli(q)) with alibi's clipping. */
export function klBernoulli(p: number, q: number): number {
  const m = Math.min(Math.max(p, 0.0000001), 0.9999999999999999);
  const n = Math.min(Math.max(q, 0.0000001), 0.9999999999999999);
  return m * Math.log(m / n) + (1 - m) * Math.log((1 - m) / (1 - n));
}

/** Upper bound: the largest q >= p with KL(p, q) <= level (16 bisection steps). */
export function upperBound(p: number, level: number): number {
  let lm = p;
  let um = Math.min(p + Math.sqrt(level / 2), 1);
  for (let j = 1; j < 17; j++) {
    const qm = (um + lm) / 2;
    if (klBernoulli(p, qm) > level) um = qm;
    else lm = qm;
  }
  return um;
}

/** Lower bound: the smallest q <= p with KL(p, q) <= level (16 bisection steps). */
export function lowerBound(p: number, level: number): number {
  let um = p;
  let lm = Math.min(Math.max(p - Math.sqrt(level / 2), 0), 1);
  for (let j = 1; j < 17; j++) {
    const qm = (um + lm) / 2;
    if (klBernoulli(p, qm) > level) lm = qm;
    else um = qm;
  }
  return lm;
}

/** Exploration rate beta(t) of KL-LUCB for `nArms` arms at round t. */
export function computeBeta(nArms: number, t: number, delta: number): number {
  const alpha = 1.1;
  const k = 405.5;
  const temp = Math.log((k * nArms * Math.pow(t, alpha)) / delta);
  return temp + Math.log(temp);
}
