/** Concatenates explanations of consecutive row chunks into one explanation of all rows. */
import type { Explanation } from '@genome/model-format';

export function mergeExplanations(parts: readonly Explanation[]): Explanation {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const sameFeatures = parts.every((p) => p.featureNames.length === first.featureNames.length && p.featureNames.every((n, i) => n === first.featureNames[i]));
  let values: number[][][];
  let featureNames: string[];
  if (sameFeatures) {
    values = parts.flatMap((p) => p.values);
    featureNames = first.featureNames;
  } else {
    // Text explanations attribute to each text's own tokens: use the union of names, 0 where a token is absent.
    featureNames = [];
    const at = new Map<string, number>();
    for (const p of parts) for (const n of p.featureNames) if (!at.has(n)) at.set(n, featureNames.push(n) - 1);
    const nOut = first.outputNames.length;
    values = parts.flatMap((p) =>
      p.values.map((row) => {
        const full = featureNames.map(() => new Array<number>(nOut).fill(0));
        row.forEach((v, f) => (full[at.get(p.featureNames[f]!)!] = v));
        return full;
      }),
    );
  }
  const all = <K extends keyof Explanation>(k: K) => parts.every((p) => p[k] !== undefined);
  const details: Record<string, unknown> = {};
  if (all('details')) {
    for (const k of Object.keys(first.details!)) {
      const vs = parts.map((p) => p.details![k]);
      details[k] = vs.every(Array.isArray) ? (vs as unknown[][]).flat() : vs[0];
    }
  }
  const sum = (f: (p: Explanation) => number | undefined) =>
    parts.every((p) => f(p) !== undefined) ? parts.reduce((a, p) => a + f(p)!, 0) : undefined;
  const modelMs = sum((p) => p.timings.modelMs);
  const modelCalls = sum((p) => p.timings.modelCalls);
  const samples = sum((p) => p.timings.samples);
  return {
    ...first,
    values,
    featureNames,
    baseValues: parts.flatMap((p) => p.baseValues),
    ...(all('predictions') ? { predictions: parts.flatMap((p) => p.predictions!) } : {}),
    ...(all('data') && sameFeatures ? { data: parts.flatMap((p) => p.data!) } : {}),
    ...(all('interactions') ? { interactions: parts.flatMap((p) => p.interactions!) } : {}),
    ...(all('details') ? { details } : {}),
    timings: {
      totalMs: parts.reduce((a, p) => a + p.timings.totalMs, 0),
      ...(modelMs !== undefined ? { modelMs } : {}),
      ...(modelCalls !== undefined ? { modelCalls } : {}),
      ...(samples !== undefined ? { samples } : {}),
    },
  };
}
