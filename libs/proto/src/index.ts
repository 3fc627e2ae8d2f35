/**
 * Generated TypeScript for Genome's gRPC contracts (ts-proto, grpc-js services). Regenerate with `npm run proto`.
 * - `inference`: the Open Inference Protocol (KServe V2 / Triton / MLServer) `inference.GRPCInferenceService`.
 * - `explain`: the Genome explainer contract `genome.explain.v1.Explainer` (proto/genome/explain/v1/explainer.proto).
 * - `health`: the standard `grpc.health.v1.Health` (proto/grpc/health/v1/health.proto), which every Genome server
 *   serves.
 * - `store`: the Genome model store contract `genome.store.v1.ModelStore` (proto/genome/store/v1/store.proto).
 * - `sequencer`: the Genome sequencer contract `genome.sequencer.v1.Sequencer` (proto/genome/sequencer/v1/sequencer.proto).
 */
export * as inference from './gen/inference/v2/open_inference_grpc.js';
export * as explain from './gen/genome/explain/v1/explainer.js';
export * as health from './gen/grpc/health/v1/health.js';
export * as store from './gen/genome/store/v1/store.js';
export * as sequencer from './gen/genome/sequencer/v1/sequencer.js';
