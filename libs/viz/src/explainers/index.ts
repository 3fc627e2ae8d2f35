/** Charts of the black-box explainers: Grad-CAM overlays and panels, LIME text and bars, Anchors rules. */
export { camOverlaySvg, type CamOverlayOptions, type CamImage } from './cam-overlay.js';
export { camPanelsSvg, type CamPanelsOptions } from './cam-panels.js';
export { limeTextHtml, limeTextDocument, limeTextSvg, type LimeTextOptions, type LimeTextSvgOptions } from './lime-text.js';
export { limeBarSvg, type LimeBarOptions } from './lime-bar.js';
export { anchorRuleSvg, type AnchorRuleOptions } from './anchor-rule.js';
