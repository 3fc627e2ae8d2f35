// Fails when libs/proto/src/gen is stale: regenerates from proto/ into a temp dir and compares byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { repoRoot } from '../../../tools/fixtures-root.js';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

t.test('generated TypeScript matches proto/ (run `npm run proto` when this fails)', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'genome-proto-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const out = join(tmp, 'gen');
  execFileSync(process.execPath, [join(repoRoot, 'tools/proto-gen.mjs'), out], { stdio: 'pipe' });
  const committed = join(repoRoot, 'libs/proto/src/gen');
  const fresh = walk(out).map((p) => relative(out, p)).sort();
  const have = walk(committed).map((p) => relative(committed, p)).sort();
  t.same(have, fresh, 'same generated files');
  for (const f of fresh) {
    t.equal(readFileSync(join(committed, f), 'utf8'), readFileSync(join(out, f), 'utf8'), `${f} is up to date`);
  }
  t.end();
});

t.test('generated OIP client and service definition load', async (t) => {
  const { inference } = await import('../src/index.js');
  t.equal(inference.GRPCInferenceServiceService.modelInfer.path, '/inference.GRPCInferenceService/ModelInfer');
  const bytes = inference.ModelInferRequest.encode({
    modelName: 'm',
    modelVersion: '',
    id: '',
    parameters: {},
    inputs: [],
    outputs: [],
    rawInputContents: [],
  }).finish();
  t.equal(inference.ModelInferRequest.decode(bytes).modelName, 'm');
});
