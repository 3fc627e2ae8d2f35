/** Pieces shared by the `genome pipeline` subcommands. */
import type { Command } from 'commander';
import { examples } from '../command-context.js';

/** Help footer of every `genome pipeline ...` subcommand. */
export const PIPELINE_FOOTER =
  '\nServer: --address host:port, else GENOME_PLATFORM_ADDR, else 127.0.0.1:7070 (the platform server; GENOME_ADDRESS is the\n' +
  'sidecar\'s and is not used here). Token, TLS flags, environment and exit codes: genome pipeline --help\n';

/** Help footer of the subcommands that work locally (no server). */
export const LOCAL_FOOTER = '\nExit codes: genome pipeline --help\n';

export const addJsonOption = (cmd: Command, what = 'print JSON instead of text'): Command => cmd.option('--json', what);

/** Finishes a subcommand's definition: --json last, then the help text, the examples and the footer. */
export function withJsonAndHelp(cmd: Command, text: string, exampleLines: string[], footer = PIPELINE_FOOTER, jsonHelp?: string): Command {
  return addJsonOption(cmd, jsonHelp).addHelpText('after', `${text}${examples(exampleLines)}${footer}`);
}
