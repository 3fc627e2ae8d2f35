/** The methods a default sidecar registers, in default-preference order. */
import { exactShap, kernelShap, permutationShap } from './agnostic-shap.js';
import { gradcam } from './gradcam.js';
import { anchors, lime } from './lime.js';
import { linearShap } from './linear-shap.js';
import { treeShapMethod, type TreeShapMethodOptions } from './tree-shap.js';
import type { ExplainMethod } from './types.js';

export interface BuiltinMethodOptions {
  /** TreeSHAP worker pool and the row threshold for using it. */
  treeShap?: TreeShapMethodOptions;
}

export function builtinMethods(options: BuiltinMethodOptions = {}): ExplainMethod[] {
  return [treeShapMethod(options.treeShap), linearShap, kernelShap, permutationShap, exactShap, lime, anchors, gradcam];
}
