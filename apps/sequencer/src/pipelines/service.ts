/** The sequencer as a hosted service: genome.sequencer.v1.Sequencer on the gRPC port, /v1.0/genome/compute/sequence on REST. */
import { sequencer as pb } from '@genome/proto';
import type { HostContext } from '../context.js';
import type { HostedService } from '../hosted.js';
import { SEQUENCER_PROTO, SEQUENCER_SERVICE, sequencerGrpcHandlers } from './grpc.js';
import { PipelineOps } from './operations.js';
import { sequencerRestRoutes } from './rest.js';
import type { SequencerRuntime } from './runtime.js';

export { SEQUENCE_PREFIX } from './rest.js';
export { SEQUENCER_SERVICE } from './grpc.js';

export function sequencerService(ctx: HostContext, runtime: SequencerRuntime): HostedService {
  const ops = new PipelineOps(ctx, runtime);
  return {
    name: 'sequencer',
    grpc: [{ name: SEQUENCER_SERVICE, definition: pb.SequencerService, implementation: sequencerGrpcHandlers(ctx, ops), protoFile: SEQUENCER_PROTO }],
    rest: sequencerRestRoutes(ctx, ops),
    close: () => runtime.close(),
  };
}
