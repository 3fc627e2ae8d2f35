/** The methods a default sidecar registers, in default-preference order. */
import { exactShap, kernelShap, permutationShap } from './agnostic-shap.js';
import { anchors, lime } from './lime.js';
import { treeShap } from './tree-shap.js';
import type { ExplainMethod } from './types.js';

export function builtinMethods(): ExplainMethod[] {
  return [treeShap, kernelShap, permutationShap, exactShap, lime, anchors];
}
