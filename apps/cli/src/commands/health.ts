/** `genome health`: grpc.health.v1 Check. Prints the serving status; exit 0 only when SERVING. */
import { Command } from 'commander';
import { health } from '@genome/proto';
import { HealthClient } from '../clients.js';
import { withConnection } from '../connection.js';
import { unary } from '../rpc.js';
import { EXIT } from '../exit-codes.js';
import { examples, type CommandContext } from './command-context.js';

const { HealthCheckResponse_ServingStatus: ServingStatus, healthCheckResponse_ServingStatusToJSON: statusText } = health;

export function healthCommand(ctx: CommandContext): Command {
  return new Command('health')
    .description('check the server\'s health (grpc.health.v1.Health/Check): prints SERVING or NOT_SERVING; exit 0 only when SERVING')
    .option('--service <name>', 'the service to check ("" = the whole server), e.g. genome.explain.v1.Explainer', '')
    .addHelpText(
      'after',
      examples([
        'genome health',
        'genome health --service genome.explain.v1.Explainer',
        'until genome health >/dev/null; do sleep 1; done   # wait for a sidecar to start',
      ]),
    )
    .action(async (opts: { service: string }, command: Command) => {
      const res = await withConnection(command, (conn) => {
        const client = conn.client(HealthClient);
        return unary<health.HealthCheckResponse>(conn, (md, o, cb) => client.check({ service: opts.service }, md, o, cb));
      });
      let text: string;
      try {
        text = statusText(res.status);
      } catch {
        text = `UNKNOWN_STATUS_${res.status}`;
      }
      ctx.io.stdout.write(`${text}\n`);
      if (res.status !== ServingStatus.SERVING) ctx.exitCode = EXIT.SERVER;
    });
}
