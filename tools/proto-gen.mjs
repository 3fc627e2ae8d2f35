#!/usr/bin/env node
// Regenerates libs/proto/src/gen from proto/ with ts-proto through buf (both ship in node_modules; no download).
// Usage: node tools/proto-gen.mjs [outDir]   (default libs/proto/src/gen; the staleness test passes a temp dir)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'libs/proto/src/gen'));
const buf = join(root, 'node_modules/.bin/buf');
const template = readFileSync(join(root, 'proto/buf.gen.yaml'), 'utf8')
  .replace('../node_modules/.bin/protoc-gen-ts_proto', join(root, 'node_modules/.bin/protoc-gen-ts_proto'))
  .replace('../libs/proto/src/gen', out);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const tmpl = join(out, '..', `.buf.gen.${process.pid}.yaml`);
writeFileSync(tmpl, template);
try {
  execFileSync(buf, ['generate', '--template', tmpl], { cwd: join(root, 'proto'), stdio: 'inherit' });
} finally {
  rmSync(tmpl, { force: true });
}
console.log(`generated TypeScript in ${out}`);
