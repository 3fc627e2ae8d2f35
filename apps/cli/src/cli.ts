/** Runs `genome` on argv and returns the exit code; every failure becomes one "error: ..." line, never a stack. */
import { CommanderError } from 'commander';
import type { CommandContext } from './commands/command-context.js';
import { CliError } from './errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { processIo, type Io } from './io.js';
import { buildProgram } from './program.js';

/** Commander's ids for help and version output, which are not errors. */
const CLEAN_EXITS = new Set(['commander.helpDisplayed', 'commander.version']);

export async function runCli(argv: readonly string[], io: Io = processIo()): Promise<ExitCode> {
  const ctx: CommandContext = { io };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode ?? EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (and a hint) already.
      return CLEAN_EXITS.has(err.code) ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof CliError) {
      io.stderr.write(`${err.userMessage}\n`);
      if (err.code === 'USAGE' && !err.grpcStatus) io.stderr.write('(add --help for usage)\n');
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`error: INTERNAL: ${message}\n`);
    return EXIT.SERVER;
  }
}
