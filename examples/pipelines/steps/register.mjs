#!/usr/bin/env node
// Step "register": saves a Genome package (default: examples/packages/california-housing-rf) into the model store
// named by GENOME_STORE_DIR / GENOME_STORE_METADATA / GENOME_STORE_BLOBS (the sequencer hands them to every step),
// with the seed's metadata: canonicalName = CANONICAL_NAME, application = APPLICATION, pipelineName = PIPELINE_NAME,
// pipelineRunId = PIPELINE_RUNID, pipelineStage = STEP_NAME. So the version's lineage names this run and this step
// (`genome store lineage --run <runId>`). The best candidate's test metrics (evaluation.json of the evaluate step)
// become the version's metrics, its name and algorithm its tags.
// Parameters: package (a package directory or archive, relative to the working directory), versionName, aliases
// (array of alias names to move to the new version), workDir (see lib.mjs).
import { existsSync } from 'node:fs';
import { StepInputError, param, readEarlier, runStep, workDir } from './lib.mjs';

const STORE_VARIABLES = ['GENOME_STORE_DIR', 'GENOME_STORE_METADATA', 'GENOME_STORE_BLOBS'];

await runStep(async (ctx) => {
  const pkg = param(ctx, 'package', 'string', 'examples/packages/california-housing-rf');
  const versionName = param(ctx, 'versionName', 'string', undefined);
  const aliases = param(ctx, 'aliases', 'string[]', undefined);
  if (!ctx.canonicalName) throw new StepInputError('CANONICAL_NAME is not set: the version is saved under the pipeline\'s canonicalName');
  if (!existsSync(pkg)) throw new StepInputError(`package ${JSON.stringify(pkg)} does not exist; paths are relative to the step's working directory (${process.cwd()})`);
  const evaluation = JSON.parse(readEarlier(workDir(ctx), 'evaluation.json', 'evaluate'));
  const best = evaluation.best;
  if (!best || typeof best.rmse !== 'number') throw new StepInputError('evaluation.json has no best candidate with an rmse');
  const named = STORE_VARIABLES.filter((k) => process.env[k]);
  if (named.length === 0) {
    process.stderr.write(`no GENOME_STORE_* variable is set: saving into the default store ./.genome-store under ${process.cwd()}\n`);
  }
  let openModelStore;
  try {
    ({ openModelStore } = await import('@genome/model-store'));
  } catch (e) {
    throw new Error(`cannot load @genome/model-store (${e.message}); run the step from the repository (npm install, npm run build) or an image that has it`);
  }
  const store = await openModelStore(); // GENOME_STORE_DIR / _METADATA / _BLOBS from the environment
  try {
    const v = await store.saveModel(pkg, {
      canonicalName: ctx.canonicalName,
      ...(ctx.application ? { application: ctx.application } : {}),
      pipelineName: ctx.pipelineName,
      pipelineRunId: ctx.runId,
      pipelineStage: ctx.stepName,
      ...(versionName ? { versionName } : {}),
      tags: { candidate: best.step, algorithm: best.algorithm, target: String(evaluation.target) },
      metrics: { rmse: best.rmse, r2: best.r2 },
      ...(aliases ? { aliases } : {}),
    });
    console.log(`saved ${pkg} as ${v.name}/${v.version} (run ${ctx.runId}, step ${ctx.stepName}, rmse ${best.rmse.toFixed(4)}) in the store named by ${named.join(', ') || 'the default ./.genome-store'}`);
  } finally {
    await store.close();
  }
});
