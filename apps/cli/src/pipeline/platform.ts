/**
 * The platform server's sequencer over gRPC (genome.sequencer.v1.Sequencer): its address, the client, unary calls
 * and the WatchRun stream, with the server's statuses mapped to the CLI's exit codes.
 *
 * The root `--address` defaults to the explainer sidecar (localhost:8081, GENOME_ADDRESS). The pipeline commands talk
 * to the platform server instead: `--address` given on the command line wins, else GENOME_PLATFORM_ADDR, else
 * 127.0.0.1:7070 (the platform server's default gRPC port). GENOME_ADDRESS is not used by them.
 */
import { makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { sequencer } from '@genome/proto';
import type { Command } from 'commander';
import { Connection, resolveConnection, type ConnectionFlags } from '../connection.js';
import { CliError } from '../errors.js';
import { callError, unary } from '../rpc.js';

export const DEFAULT_PLATFORM_ADDRESS = '127.0.0.1:7070';
export const PLATFORM_ADDRESS_ENV = 'GENOME_PLATFORM_ADDR';

/** The generated client's constructor, made with this package's grpc-js (see ../clients.ts for why). */
export const SequencerClient = makeGenericClientConstructor(sequencer.SequencerService, 'genome.sequencer.v1.Sequencer') as unknown as typeof sequencer.SequencerClient;
export type Sequencer = InstanceType<typeof SequencerClient>;

export type Run = sequencer.Run;
export type Step = sequencer.Step;
export type ScheduledPipeline = sequencer.ScheduledPipeline;

/** The address of the platform server for `command`: --address on the command line, GENOME_PLATFORM_ADDR, 127.0.0.1:7070. */
export function platformAddress(command: Command, env: NodeJS.ProcessEnv = process.env): string {
  if (command.getOptionValueSourceWithGlobals('address') === 'cli') return command.optsWithGlobals<ConnectionFlags>().address ?? DEFAULT_PLATFORM_ADDRESS;
  return env[PLATFORM_ADDRESS_ENV]?.trim() || DEFAULT_PLATFORM_ADDRESS;
}

/** A connection to the platform server and its sequencer client. */
export interface Platform {
  conn: Connection;
  client: Sequencer;
}

/** Runs `fn` with a connection to the platform server named by the flags of `command`, then closes it. */
export async function withPlatform<T>(command: Command, fn: (p: Platform) => Promise<T>): Promise<T> {
  const flags = command.optsWithGlobals<ConnectionFlags>();
  const conn = new Connection(resolveConnection({ ...flags, address: platformAddress(command) }));
  try {
    return await fn({ conn, client: conn.client(SequencerClient) });
  } finally {
    conn.close();
  }
}

/**
 * The sequencer's statuses as exit codes: INVALID_ARGUMENT 2 (the message names the field path), NOT_FOUND 4,
 * UNAVAILABLE 3 (the run state cannot be reached or the server is draining, as well as no connection); the others 1.
 */
export function pipelineError(err: CliError): CliError {
  if (err.code !== 'SERVER') return err;
  switch (err.grpcStatus) {
    case 'INVALID_ARGUMENT':
      return new CliError('USAGE', err.message, err.grpcStatus);
    case 'NOT_FOUND':
      return new CliError('NOT_FOUND', err.message, err.grpcStatus);
    case 'UNAVAILABLE':
      return new CliError('UNREACHABLE', err.message, err.grpcStatus);
    default:
      return err;
  }
}

type Unary<Req, Res> = (req: Req, md: import('@grpc/grpc-js').Metadata, o: Partial<import('@grpc/grpc-js').CallOptions>, cb: (err: ServiceError | null, res?: Res) => void) => unknown;

/** One unary call of the sequencer with the connection's token and deadline; errors as {@link pipelineError}s. */
export async function call<Req, Res>(p: Platform, method: (c: Sequencer) => Unary<Req, Res>, req: Req): Promise<Res> {
  const fn = method(p.client).bind(p.client) as Unary<Req, Res>;
  try {
    return await unary<Res>(p.conn, (md, o, cb) => fn(req, md, o, cb));
  } catch (err) {
    throw err instanceof CliError ? pipelineError(err) : err;
  }
}

export const runPipeline = (p: Platform, req: sequencer.RunPipelineRequest) => call<sequencer.RunPipelineRequest, Run>(p, (c) => c.runPipeline, req);
export const createPipeline = (p: Platform, req: sequencer.CreatePipelineRequest) =>
  call<sequencer.CreatePipelineRequest, ScheduledPipeline>(p, (c) => c.createPipeline, req);
export const listPipelines = (p: Platform) => call<sequencer.ListPipelinesRequest, sequencer.ListPipelinesResponse>(p, (c) => c.listPipelines, {});
export const deletePipeline = (p: Platform, pipelineName: string) => call<sequencer.PipelineRequest, ScheduledPipeline>(p, (c) => c.deletePipeline, { pipelineName });
export const getRun = (p: Platform, runId: string) => call<sequencer.RunRequest, Run>(p, (c) => c.getRun, { runId });
export const listRuns = (p: Platform, req: sequencer.ListRunsRequest) => call<sequencer.ListRunsRequest, sequencer.ListRunsResponse>(p, (c) => c.listRuns, req);
export const cancelRun = (p: Platform, req: sequencer.CancelRunRequest) => call<sequencer.CancelRunRequest, Run>(p, (c) => c.cancelRun, req);
export const getStepLogs = (p: Platform, req: sequencer.GetStepLogsRequest) => call<sequencer.GetStepLogsRequest, sequencer.StepLogs>(p, (c) => c.getStepLogs, req);

/**
 * Follows a run with WatchRun: `onRun` gets every record the server sends; resolves with the last one when the
 * stream ends (the run ended). No deadline: a run may take hours; a server that cannot be reached fails at once.
 * `signal` (Ctrl-C) cancels the call and rejects.
 */
export function watchRun(p: Platform, runId: string, onRun: (run: Run) => void, signal?: AbortSignal): Promise<Run | undefined> {
  return new Promise<Run | undefined>((resolve, reject) => {
    let last: Run | undefined;
    const stream = p.client.watchRun({ runId }, p.conn.metadata(), {});
    const onAbort = (): void => stream.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    stream.on('data', (run: Run) => {
      last = run;
      try {
        onRun(run);
      } catch (err) {
        done();
        stream.cancel();
        reject(err);
      }
    });
    stream.on('error', (err: ServiceError) => {
      done();
      reject(signal?.aborted ? new CliError('SERVER', 'interrupted', 'CANCELLED') : pipelineError(callError(err, p.conn)));
    });
    // 'status' rather than 'end': grpc-js ends the readable side before it emits the error of a failed call.
    stream.on('status', (s: { code: number }) => {
      if (s.code !== 0) return;
      done();
      resolve(last);
    });
  });
}
