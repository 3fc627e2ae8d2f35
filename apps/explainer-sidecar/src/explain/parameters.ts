/** Checks on the `parameters` of a call that hold for every method: known keys only, and values of bounded depth. */
import { SidecarError } from '../errors.js';
import type { ExplainMethod } from '../methods/types.js';
import { clip, quote } from '@genome/server-kit';

/** Deepest nesting of arrays/objects accepted in a parameter value (method parameters are scalars or short lists). */
export const MAX_PARAMETER_DEPTH = 8;

/** Nesting depth of `v` (0 for scalars), without recursion, stopping once it exceeds `limit`. */
export function depthOf(v: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const c of Array.isArray(x) ? x : Object.values(x as object)) stack.push([c, d + 1]);
  }
  return max;
}

export function checkParameters(params: Record<string, unknown>, method: ExplainMethod): void {
  const keys = Object.keys(params);
  if (method.parameters) {
    const unknown = keys.filter((k) => !method.parameters!.includes(k));
    if (unknown.length > 0) {
      throw new SidecarError(
        'INVALID_REQUEST',
        `unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((k) => `"${clip(k)}"`).join(', ')}${unknown.length > 5 ? ', …' : ''} for method "${method.name}"; it accepts: ${method.parameters.join(', ') || '(none)'}`,
      );
    }
  }
  for (const k of keys) {
    if (depthOf(params[k], MAX_PARAMETER_DEPTH) > MAX_PARAMETER_DEPTH) {
      throw new SidecarError('INVALID_REQUEST', `parameter ${quote(k, 40)} nests more than ${MAX_PARAMETER_DEPTH} levels of lists or objects; method parameters are numbers, strings, booleans or short lists`);
    }
  }
}
