/** The CAM methods and their names, as pytorch-grad-cam spells them. */
export const GRADIENT_METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam'] as const;
export const FORWARD_METHODS = ['scorecam', 'ablationcam', 'eigencam'] as const;
export type CamMethod = (typeof GRADIENT_METHODS)[number] | (typeof FORWARD_METHODS)[number];
export const CAM_METHODS: readonly CamMethod[] = [...GRADIENT_METHODS, ...FORWARD_METHODS];

export function usesGradients(m: CamMethod): boolean {
  return (GRADIENT_METHODS as readonly string[]).includes(m);
}
