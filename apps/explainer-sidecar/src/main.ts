#!/usr/bin/env node
/**
 * CLI entry: `genome-explainer-sidecar [flags]` (see --help). Starts the sidecar, prints how to call it, and
 * drains gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { serveUntilSignalled, startOrExit } from '@genome/server-kit';
import { loadConfig, usage } from './config.js';
import { SidecarError } from './errors.js';
import type { ModelDescription } from './models/types.js';
import { startSidecar, type Sidecar } from './sidecar.js';

/** A row for `genome explain --row`: category names where the model carries them and they need no shell quoting. */
function cliRow(row: number[], categories: ModelDescription['featureCategories']): (number | string)[] {
  return row.map((v, f) => {
    const name = categories?.[f]?.[v];
    return name !== undefined && /^[A-Za-z_][\w.-]*$/.test(name) ? name : v;
  });
}

function example(s: Sidecar): string {
  const e = s.models.entries()[0]!;
  const m = e.ready ? e.model : undefined;
  const d = e.description;
  const methods = m ? s.methods.applicable(m) : [];
  const host = s.config.host === '0.0.0.0' || s.config.host === '::' ? 'localhost' : s.config.host;
  const row = m?.background && m.background.rows > 0 ? Array.from(m.background.data.subarray(0, d.featureNames.length), (v) => (Number.isNaN(v) ? 0 : +v.toFixed(4))) : d.featureNames.map(() => 0);
  const tls = s.config.tls ? ' (TLS on: add -cacert/--cacert and https)' : '';
  const grpcBody = JSON.stringify({ model: { name: d.name }, method_name: methods[0] ?? '', tabular: { rows: [{ values: row }] } });
  const flags = [
    `--address ${host}:${s.grpcPort}`,
    ...(s.config.tls ? ['--tls-ca ca.pem'] : []),
    ...(s.config.tls?.requireClientCert ? ['--tls-cert client.pem --tls-key client-key.pem'] : []),
    ...(s.config.authTokens.length > 0 ? ['--token "$TOKEN"'] : []),
  ].join(' ');
  const lines = [
    '',
    `Genome explainer sidecar is up${tls}. Model "${d.name}" (${d.format}, ${d.featureNames.length} features: ${d.featureNames.join(', ')}); ` +
      (e.ready ? `methods: ${methods.join(', ')}` : `not ready yet (${e.reason}); it is retried in the background`),
    '',
    'genome CLI (install: apps/cli/README.md; inside the Genome repository: npx genome):',
    `  genome ${flags} health`,
    `  genome ${flags} models`,
    `  genome ${flags} explain --model ${d.name} --row ${cliRow(row, d.featureCategories).join(',')}`,
    ...(d.kind === 'tabular' ? [`  genome ${flags} visualize --model ${d.name} --row ${cliRow(row, d.featureCategories).join(',')} --out waterfall.svg`] : []),
    '',
    'gRPC (reflection is on, so grpcurl needs no .proto):',
    `  grpcurl -plaintext ${host}:${s.grpcPort} list`,
    `  grpcurl -plaintext -d '${grpcBody}' ${host}:${s.grpcPort} genome.explain.v1.Explainer/Explain`,
    `  grpcurl -plaintext ${host}:${s.grpcPort} grpc.health.v1.Health/Check`,
  ];
  if (s.httpPort >= 0) {
    lines.push(
      '',
      `Explorer page (explain rows, see the charts and the model's trees): http://${host}:${s.httpPort}/`,
      '',
      'REST (KServe V1 explain protocol):',
      `  curl -s -X POST http://${host}:${s.httpPort}/v1/models/${d.name}:explain -H 'content-type: application/json' -d '${JSON.stringify({ instances: [row] })}'`,
      `  curl -s http://${host}:${s.httpPort}/v2/health/ready -o /dev/null -w '%{http_code}\\n'`,
      `  curl -s http://${host}:${s.httpPort}/metrics | grep genome_sidecar_requests_total`,
    );
  }
  lines.push('', 'Stop with Ctrl-C (SIGINT) or SIGTERM: in-flight calls drain first.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sidecar = await startOrExit(
    'genome-explainer-sidecar',
    () => startSidecar(loadConfig()),
    (err) => err instanceof SidecarError && err.message.startsWith('genome-explainer-sidecar [options]'),
    usage,
  );
  process.stdout.write(example(sidecar));
  serveUntilSignalled(sidecar);
}

void main();
