/**
 * The generated clients of `@genome/proto`, made with this package's own `@grpc/grpc-js`.
 *
 * The generated `explain.ExplainerClient` is `makeGenericClientConstructor(ExplainerService, ...)` over the copy of
 * grpc-js that `@genome/proto` resolves. Installed side by side (`npm install -g` of both tarballs), the CLI and
 * `@genome/proto` each get their own copy, and grpc-js refuses credentials and metadata made by another copy
 * ("Channel credentials must be a ChannelCredentials object"; metadata fails its instanceof check). The same
 * constructors, made here from the same generated service definitions and typed as the generated clients, keep one
 * copy of grpc-js in play whatever the install layout.
 */
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { explain, health } from '@genome/proto';

export const ExplainerClient = makeGenericClientConstructor(explain.ExplainerService, 'genome.explain.v1.Explainer') as unknown as typeof explain.ExplainerClient;

export const HealthClient = makeGenericClientConstructor(health.HealthService, 'grpc.health.v1.Health') as unknown as typeof health.HealthClient;
