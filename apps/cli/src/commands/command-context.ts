/** What every subcommand module receives, and the shape of a subcommand module. */
import type { Command } from 'commander';
import type { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export interface CommandContext {
  io: Io;
  /** Set by a command that finishes without an error but must not exit 0 (e.g. health NOT_SERVING). */
  exitCode?: ExitCode;
}

/** A subcommand module: builds its `Command` (flags, help, action). One module per subcommand in src/commands/. */
export type CommandFactory = (ctx: CommandContext) => Command;

/** Help text listing examples, added after a command's options. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
