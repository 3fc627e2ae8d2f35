/** @genome/cli: the `genome` command. The executable is bin/genome.mjs; this API embeds it (tests, wrappers). */
export { runCli } from './cli.js';
export { buildProgram } from './program.js';
export { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes.js';
export { CliError, type CliErrorCode } from './errors.js';
export { Connection, resolveConnection, addConnectionOptions, withConnection, DEFAULT_ADDRESS, type ConnectionFlags, type ConnectionSettings } from './connection.js';
export { COMMANDS } from './commands/index.js';
export type { CommandContext, CommandFactory } from './commands/command-context.js';
export type { Io, OutStream } from './io.js';
export { parseCell, toRow, tabularInput, type CellValue, type RowsInput } from './input/cells.js';
export { parseCsv } from './input/csv-file.js';
export { parseInstances } from './input/json-file.js';
export { parseParams } from './input/params.js';
export { splitDocument } from './explain/documents.js';
export type { ExplainResult } from './explain/result.js';
