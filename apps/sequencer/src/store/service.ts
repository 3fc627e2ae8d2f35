/** The model store as a hosted service: genome.store.v1.ModelStore on the gRPC port, /v1.0/genome/modelstore on REST. */
import type { ModelStore } from '@genome/model-store';
import { store as pb } from '@genome/proto';
import type { HostContext } from '../context.js';
import type { HostedService } from '../hosted.js';
import { STORE_PROTO, STORE_SERVICE, storeGrpcHandlers } from './grpc.js';
import { storeRestRoutes } from './rest.js';

export { STORE_PREFIX } from './rest.js';
export { STORE_SERVICE } from './grpc.js';

export function storeService(ctx: HostContext, store: ModelStore): HostedService {
  return {
    name: 'store',
    grpc: [{ name: STORE_SERVICE, definition: pb.ModelStoreService, implementation: storeGrpcHandlers(ctx, store), protoFile: STORE_PROTO }],
    rest: storeRestRoutes(ctx, store),
    // The store itself is opened and closed by the server (it may be shared with the pipelines).
    close: async () => {},
  };
}
