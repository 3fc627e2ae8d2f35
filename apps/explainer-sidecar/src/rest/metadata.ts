/**
 * `GET /v2/models/{name}[/versions/{v}]`: the Open Inference Protocol's model metadata (name, versions, platform,
 * inputs, outputs), plus a `genome` block with what an explainer client needs (features, their categories, outputs,
 * methods, the charts the model can be drawn as). The explorer page reads it.
 */
import { EXPLANATION_CHART_KINDS } from '@genome/viz';
import { modelInfo, type SidecarContext } from '../context.js';
import type { ModelEntry } from '../models/registry.js';

export function modelMetadata(ctx: SidecarContext, e: ModelEntry): Record<string, unknown> {
  const info = modelInfo(ctx, e);
  const d = e.description;
  const model = e.ready ? e.model : undefined;
  const internals = model?.ensemble ? ['tree', 'ensemble'] : model?.extras?.linear ? ['coefficients'] : [];
  const input =
    d.kind === 'image'
      ? { name: 'image', datatype: 'FP32', shape: d.inputShape.length ? d.inputShape.map((x, i) => (i === 0 ? -1 : x)) : [-1] }
      : d.kind === 'text'
        ? { name: 'text', datatype: 'BYTES', shape: [-1] }
        : { name: 'input', datatype: 'FP64', shape: [-1, d.featureNames.length] };
  return {
    name: d.name,
    versions: d.version ? [d.version] : [],
    platform: d.format,
    inputs: [input],
    outputs: [{ name: 'output', datatype: 'FP64', shape: [-1, d.outputNames.length] }],
    genome: {
      kind: d.kind,
      ready: info.ready,
      description: info.description,
      feature_names: d.featureNames,
      ...(d.featureCategories?.some((c) => c !== undefined) ? { feature_categories: d.featureCategories.map((c) => (c ? [...c] : null)) } : {}),
      output_names: d.outputNames,
      output_space: d.outputSpace,
      methods: info.methods,
      charts: { explanation: [...EXPLANATION_CHART_KINDS], model: internals },
      ...(info.store ? { store: info.store } : {}),
    },
  };
}
