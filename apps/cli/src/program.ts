/** The `genome` root command: global connection flags, exit codes and environment in --help, one subcommand per module. */
import { Command } from 'commander';
import { COMMANDS } from './commands/index.js';
import type { CommandContext } from './commands/command-context.js';
import { addConnectionOptions } from './connection.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { cliVersion } from './version.js';

const ROOT_HELP = `${EXIT_CODES_HELP}

Environment:
  GENOME_ADDRESS  explainer sidecar address (host:port), like --address
  GENOME_PLATFORM_ADDR  platform server address for genome pipeline (default 127.0.0.1:7070)
  GENOME_TOKEN    bearer token, like --token
  GENOME_STORE_DIR, GENOME_STORE_METADATA, GENOME_STORE_BLOBS  where genome store finds the store (genome store --help)

Examples:
  genome health
  genome models
  genome explain --model california-housing-rf --row 8.3252,41,6.9841,1.0238,322,2.5556,37.88,-122.23
  genome --address explainer.prod:8081 --tls-ca ca.pem --token "$TOKEN" explain --model m --csv rows.csv --output csv
  genome store save ./california-housing-rf --name housing --alias staging
  genome store list
  genome explain --help`;

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('genome')
    .description('Command-line client of the Genome explainer sidecar (gRPC): list models, check health, explain rows; and of a model store (genome store).')
    .version(cliVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
    });
  addConnectionOptions(program);
  program.addHelpText('after', ROOT_HELP);
  for (const make of COMMANDS) {
    const cmd = make(ctx);
    inheritSettings(cmd, program);
    // A command group (genome store) documents its own flags; the others talk to the sidecar.
    if (cmd.commands.length === 0) cmd.addHelpText('after', `\nConnection flags (--address, --token, --tls*, --deadline-ms) and exit codes: genome --help\n`);
    program.addCommand(cmd);
  }
  return program;
}

/** Output, exit override and help settings of the root, down to every subcommand (addCommand does not copy them). */
function inheritSettings(cmd: Command, parent: Command): void {
  cmd.copyInheritedSettings(parent);
  for (const sub of cmd.commands) inheritSettings(sub, cmd);
}
