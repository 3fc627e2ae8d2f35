/** Pieces shared by the `genome store` subcommands. */
import type { Command } from 'commander';
import { examples } from '../command-context.js';

/** Help footer of every `genome store ...` subcommand. */
export const STORE_FOOTER = '\nStore flags (--store-dir, --store-metadata, --store-blobs), environment and exit codes: genome store --help\n';

export const addJsonOption = (cmd: Command): Command => cmd.option('--json', 'print JSON instead of text');

/**
 * Finishes a `genome store` subcommand's definition: `--json` (after its own options, so that help lists it last),
 * and the help shown after the options: `text` (may be empty), the examples, the store footer.
 */
export function withJsonAndHelp(cmd: Command, text: string, exampleLines: string[]): Command {
  return addJsonOption(cmd).addHelpText('after', `${text}${examples(exampleLines)}${STORE_FOOTER}`);
}
