#!/usr/bin/env node
// Runs the built platform server (dist/main.js); from a source checkout without a build, runs src/main.ts through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/main.js');
if (existsSync(built)) {
  await import(built);
} else {
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', join(root, 'src/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
