/**
 * genome.sequencer.v1.Sequencer over the platform's sequencer. Reads need the scope `pipelines:read`, runs,
 * schedules and cancels `pipelines:write` (checked by GrpcKit before the handler runs).
 */
import { sequencer as pb } from '@genome/proto';
import type { HostContext } from '../context.js';
import { GrpcKit } from '../grpc/calls.js';
import { pipelineToPb, runToPb } from './convert.js';
import { READ, WRITE, type PipelineOps } from './operations.js';

export const SEQUENCER_SERVICE = 'genome.sequencer.v1.Sequencer';
export const SEQUENCER_PROTO = 'genome/sequencer/v1/sequencer.proto';

const opt = <T>(v: T | undefined | '' | 0): T | undefined => (v === '' || v === 0 || v === undefined ? undefined : v);

export function sequencerGrpcHandlers(ctx: HostContext, ops: PipelineOps): pb.SequencerServer {
  const kit = new GrpcKit(ctx, `proto/${SEQUENCER_PROTO}`);
  return {
    runPipeline: kit.unary<pb.RunPipelineRequest, pb.Run>('RunPipeline', WRITE, async (req, { principal }) =>
      runToPb(await ops.run(principal, ops.pipelineFromText(req.pipelineJson), opt(req.runId))),
    ),
    createPipeline: kit.unary<pb.CreatePipelineRequest, pb.ScheduledPipeline>('CreatePipeline', WRITE, async (req, { principal }) => {
      const input = { timezone: opt(req.timezone), overlap: opt(req.overlap), maxMissedRuns: opt(req.maxMissedRuns) };
      return pipelineToPb(await ops.create(principal, ops.pipelineFromText(req.pipelineJson), Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))));
    }),
    getPipeline: kit.unary<pb.PipelineRequest, pb.ScheduledPipeline>('GetPipeline', READ, async (req, { principal }) => pipelineToPb(await ops.getPipeline(principal, req.pipelineName))),
    listPipelines: kit.unary<pb.ListPipelinesRequest, pb.ListPipelinesResponse>('ListPipelines', READ, async (_req, { principal }) => ({
      pipelines: (await ops.listPipelines(principal)).map(pipelineToPb),
    })),
    deletePipeline: kit.unary<pb.PipelineRequest, pb.ScheduledPipeline>('DeletePipeline', WRITE, async (req, { principal }) => pipelineToPb(await ops.deletePipeline(principal, req.pipelineName))),
    getRun: kit.unary<pb.RunRequest, pb.Run>('GetRun', READ, async (req, { principal }) => runToPb(await ops.getRun(principal, req.runId))),
    listRuns: kit.unary<pb.ListRunsRequest, pb.ListRunsResponse>('ListRuns', READ, async (req, { principal }) => {
      const page = await ops.listRuns(principal, { pipelineName: req.pipelineName, status: req.status, pageSize: req.pageSize, pageToken: req.pageToken });
      return { runs: page.runs.map(runToPb), nextPageToken: page.nextPageToken ?? '' };
    }),
    cancelRun: kit.unary<pb.CancelRunRequest, pb.Run>('CancelRun', WRITE, async (req, { principal }) => runToPb(await ops.cancel(principal, req.runId, opt(req.message)))),
    getStepLogs: kit.unary<pb.GetStepLogsRequest, pb.StepLogs>('GetStepLogs', READ, async (req, { principal }) => {
      const logs = await ops.logs(principal, req.runId, req.stepName, { ...(req.attempt ? { attempt: req.attempt } : {}), ...(req.tailLines ? { tailLines: req.tailLines } : {}) });
      return { runId: logs.runId, stepName: logs.stepName, attempt: logs.attempt, text: logs.text };
    }),
    watchRun: kit.serverStream<pb.RunRequest, pb.Run>('WatchRun', READ, (req, { principal, scope }, write) => ops.watch(principal, req.runId, scope, (run) => write(runToPb(run))), {
      deadline: 'none',
    }),
  };
}
