/**
 * Draws every chart from real fixture explanations and models into docs/ (the pictures in the README):
 *   npm run gallery -w libs/viz      (needs ../shared/fixtures)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxLinearModel, loadTreeModel } from '@genome/model-format';
import {
  anchorRuleSvg,
  barSvg,
  beeswarmSvg,
  camOverlaySvg,
  camPanelsSvg,
  coefficientsSvg,
  decisionSvg,
  dependenceSvg,
  ensembleSvg,
  forceStackedSvg,
  forceSvg,
  limeBarSvg,
  limeTextSvg,
  svgToPng,
  treeSvg,
  waterfallSvg,
} from '../src/index.js';
import { readFixture } from '../../../tools/fixtures.js';
import { anchorTabularExplanation, limeTabularExplanation, limeTextExplanation, mnistCams, squeezenetCat } from '../test/explainers-fixtures.js';
import { auditExplanation, californiaExplanation } from '../test/shap-fixtures.js';

const out = join(import.meta.dirname, '../docs');
mkdirSync(out, { recursive: true });

const cal = await californiaExplanation(300, true);
const audit = await auditExplanation(1);
const cat = await squeezenetCat();
const digits = await mnistCams(['gradcam', 'gradcam++', 'scorecam'], { digits: [3] });
const auditModel = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', 'BinomialClassificationAudit.json'));
const auditRow = { Age: 38, Employment: 'Private', Education: 'College', Marital: 'Married', Occupation: 'Professional', Income: 72099, Gender: 'Male', Deductions: 0, Hours: 40 };
const linear = loadOnnxLinearModel(readFixture('models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnLinearRegression-Dec4.model.onnx'));

const charts: [string, string][] = [
  ['waterfall', waterfallSvg(audit)],
  ['force', forceSvg(audit)],
  ['force_stacked', forceStackedSvg(cal)],
  ['beeswarm', beeswarmSvg(cal)],
  ['bar', barSvg(cal)],
  ['dependence', dependenceSvg(cal, { feature: 'MedInc' })],
  ['decision', decisionSvg(cal, { rows: Array.from({ length: 40 }, (_, i) => i * 7) })],
  ['cam_overlay', camOverlaySvg(cat.explanation, { image: cat.jpeg })],
  ['cam_panels', camPanelsSvg(digits.explanations, { image: digits.jpegs })],
  ['lime_text', limeTextSvg(await limeTextExplanation())],
  ['lime_bar', limeBarSvg(await limeTabularExplanation())],
  ['anchor_rule', anchorRuleSvg(await anchorTabularExplanation())],
  ['coefficients', coefficientsSvg(linear)],
  ['tree', treeSvg(auditModel, { tree: 0, row: auditRow, maxDepth: 3 })],
  ['ensemble', ensembleSvg(auditModel)],
];
for (const [name, svg] of charts) {
  const png = await svgToPng(svg);
  writeFileSync(join(out, `${name}.png`), png.png);
  console.log(`${name}.png ${png.width}x${png.height} ${(png.png.length / 1024).toFixed(0)} KiB`);
}
