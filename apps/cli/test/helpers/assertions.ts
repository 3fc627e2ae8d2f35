/** Checks shared by the CLI tests. */
import type tap from 'tap';
import type { Run } from './genome.js';

type Tap = Pick<typeof tap, 'equal'>;

/** A stack frame line ("    at fn (file:1:2)"): the CLI must never print one. */
export const STACK = /^\s+at .+[:(]/m;

export interface Doc {
  schema: string;
  method: string;
  values: number[][][];
  baseValues: number[][];
  predictions?: number[][];
  featureNames: string[];
  outputNames: string[];
  data?: (number | string | null)[][];
  parameters: Record<string, unknown>;
  seed?: number;
}

/** The largest |base + sum(values) - prediction| over the documents (one row each). */
export function additivityError(docs: Doc[]): number {
  let worst = 0;
  for (const d of docs) {
    for (let o = 0; o < d.outputNames.length; o++) {
      const sum = d.values[0]!.reduce((a, f) => a + f[o]!, 0);
      worst = Math.max(worst, Math.abs(d.baseValues[0]![o]! + sum - d.predictions![0]![o]!));
    }
  }
  return worst;
}

/** Asserts the exit code, showing the command's output when it differs. */
export function exits(t: Tap, r: Run, code: number, what = ''): boolean {
  return t.equal(r.code, code, `${what ? `${what}: ` : ''}exit ${code}`, { stdout: r.stdout.slice(0, 3000), stderr: r.stderr.slice(0, 3000) });
}
