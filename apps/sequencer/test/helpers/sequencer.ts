/** A promise-based grpc-js client for genome.sequencer.v1.Sequencer, and pipelines whose steps are real processes. */
import { credentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { sequencer as pb } from '@genome/proto';
import { callOptions, md, unaryOf, type CallOpts } from './grpc.js';

export type SeqClient = InstanceType<typeof pb.SequencerClient>;

export function seqClient(port: number, creds: ChannelCredentials = credentials.createInsecure()): SeqClient {
  return new pb.SequencerClient(`127.0.0.1:${port}`, creds);
}

const unary = <Q, R>(method: string, msg: { fromPartial(x: pb.DeepPartial<Q>): Q }) => unaryOf<SeqClient, Q, R>(method, msg);

export const runPipeline = unary<pb.RunPipelineRequest, pb.Run>('runPipeline', pb.RunPipelineRequest);
export const createPipeline = unary<pb.CreatePipelineRequest, pb.ScheduledPipeline>('createPipeline', pb.CreatePipelineRequest);
export const getPipeline = unary<pb.PipelineRequest, pb.ScheduledPipeline>('getPipeline', pb.PipelineRequest);
export const listPipelines = unary<pb.ListPipelinesRequest, pb.ListPipelinesResponse>('listPipelines', pb.ListPipelinesRequest);
export const deletePipeline = unary<pb.PipelineRequest, pb.ScheduledPipeline>('deletePipeline', pb.PipelineRequest);
export const getRun = unary<pb.RunRequest, pb.Run>('getRun', pb.RunRequest);
export const listRuns = unary<pb.ListRunsRequest, pb.ListRunsResponse>('listRuns', pb.ListRunsRequest);
export const cancelRun = unary<pb.CancelRunRequest, pb.Run>('cancelRun', pb.CancelRunRequest);
export const getStepLogs = unary<pb.GetStepLogsRequest, pb.StepLogs>('getStepLogs', pb.GetStepLogsRequest);

/** Every record WatchRun sends, and how the stream ended. */
export function watchRun(c: SeqClient, runId: string, o: CallOpts = {}): Promise<{ runs: pb.Run[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const runs: pb.Run[] = [];
    const call = c.watchRun({ runId }, md(o), callOptions(o));
    call.on('data', (r: pb.Run) => runs.push(r));
    call.on('error', (error: ServiceError) => resolve({ runs, error }));
    call.on('end', () => resolve({ runs }));
  });
}

/** A step that runs `js` with node (no shell), e.g. `console.log(process.env.STEP_NAME)`. */
export function nodeStep(stepName: string, js: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { stepName, stepType: 'script', command: [process.execPath, '-e', js], ...extra };
}

export function pipeline(name: string, steps: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pipelineName: name, canonicalName: `${name}-model`, application: 'search', steps, ...extra };
}
