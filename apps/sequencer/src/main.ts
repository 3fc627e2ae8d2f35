#!/usr/bin/env node
/**
 * CLI entry: `genome-platform [flags]` (see --help). Opens the model store and the sequencer, serves both over gRPC and REST,
 * prints how to call it, and drains gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { serveUntilSignalled, startOrExit } from '@genome/server-kit';
import { HelpRequested, loadConfig, usage } from './config.js';
import { startPlatform, type Platform } from './server.js';
import { STORE_PREFIX, STORE_SERVICE } from './store/service.js';
import { SEQUENCE_PREFIX, SEQUENCER_SERVICE } from './pipelines/service.js';

/** The start banner: ready-to-paste calls for the configured ports, TLS and auth. */
export function banner(p: Platform): string {
  const c = p.config;
  const host = c.host === '0.0.0.0' || c.host === '::' ? 'localhost' : c.host;
  const tls = !!c.tls;
  const mtls = !!c.tls?.requireClientCert;
  const auth = p.config.authTokens.length > 0;
  const grpcurlFlags = [tls ? '-cacert ca.pem' : '-plaintext', ...(mtls ? ['-cert client.pem -key client-key.pem'] : []), ...(auth ? [`-H "authorization: Bearer $TOKEN"`] : [])].join(' ');
  const curlFlags = ['-s', ...(tls ? ['--cacert ca.pem'] : []), ...(mtls ? ['--cert client.pem --key client-key.pem'] : []), ...(auth ? [`-H "authorization: Bearer $TOKEN"`] : [])].join(' ');
  const base = `${tls ? 'https' : 'http'}://${host}:${p.httpPort}${STORE_PREFIX}`;
  const seq = `${tls ? 'https' : 'http'}://${host}:${p.httpPort}${SEQUENCE_PREFIX}`;
  const lines = [
    '',
    `Genome platform server is up${tls ? ` (TLS${mtls ? ' with client certificates' : ''})` : ''}${auth ? ', bearer tokens required (scopes store:read, store:write, pipelines:read, pipelines:write)' : ''}.`,
    `Model store: metadata ${p.store.metadataLocation}, blobs ${p.store.blobLocation}.`,
    `Sequencer: ${p.sequencer.executor.kind} executor, runs in ${p.sequencer.stateLocation}.`,
    '',
    'gRPC (reflection is on, so grpcurl needs no .proto):',
    `  grpcurl ${grpcurlFlags} ${host}:${p.grpcPort} list ${STORE_SERVICE}`,
    `  grpcurl ${grpcurlFlags} -d '{}' ${host}:${p.grpcPort} ${STORE_SERVICE}/ListModels`,
    `  grpcurl ${grpcurlFlags} -d '{"ref":"my-model@production"}' ${host}:${p.grpcPort} ${STORE_SERVICE}/GetVersion`,
    `  grpcurl ${grpcurlFlags} -d '{}' ${host}:${p.grpcPort} ${SEQUENCER_SERVICE}/ListRuns`,
    `  grpcurl ${grpcurlFlags} ${host}:${p.grpcPort} grpc.health.v1.Health/Check`,
  ];
  if (p.httpPort >= 0) {
    lines.push(
      '',
      `REST (${STORE_PREFIX}/... and ${SEQUENCE_PREFIX}/..., routes in apps/sequencer/README.md):`,
      `  curl ${curlFlags} ${base}/models`,
      `  curl ${curlFlags} ${base}/models/my-model/versions`,
      `  curl ${curlFlags} -X POST ${base}/search -H 'content-type: application/json' -d '{"filter": "framework = '"'"'onnx'"'"'", "latestOnly": true}'`,
      `  curl ${curlFlags} -X POST ${seq}/run -H 'content-type: application/json' -d @examples/pipelines/sequential.json`,
      `  curl ${curlFlags} ${seq}/runs`,
      `  curl ${curlFlags} ${tls ? 'https' : 'http'}://${host}:${p.httpPort}/v2/health/ready -o /dev/null -w '%{http_code}\\n'`,
    );
  }
  lines.push('', 'Stop with Ctrl-C (SIGINT) or SIGTERM: in-flight calls drain first.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const platform = await startOrExit('genome-platform', () => startPlatform(loadConfig()), (err) => err instanceof HelpRequested, usage);
  process.stdout.write(banner(platform));
  serveUntilSignalled(platform);
}

void main();
