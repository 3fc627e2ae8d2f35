/** The methods a default sidecar registers, in default-preference order. */
import { exactShap, kernelShap, permutationShap } from './agnostic-shap.js';
import { gradcam } from './gradcam.js';
import { anchors, lime } from './lime.js';
import { linearShap } from './linear-shap.js';
import { treeShap } from './tree-shap.js';
import type { ExplainMethod } from './types.js';

export function builtinMethods(): ExplainMethod[] {
  return [treeShap, linearShap, kernelShap, permutationShap, exactShap, lime, anchors, gradcam];
}
