/** The `genome` executable (bin/genome.mjs imports the built copy of this file). */
import { runCli } from './cli.js';

// `genome explain ... | head` closes stdout early: stop quietly instead of failing with EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// Warnings as one line without a stack. grpc-js sets the TLS server name to the address's host even when it is an IP
// address, which Node flags as deprecated (DEP0123); the certificate is still checked against that IP: not for users.
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') process.stderr.write(`warning: ${w.message}\n`);
});

process.exitCode = await runCli(process.argv.slice(2));
