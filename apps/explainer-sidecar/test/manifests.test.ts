// The Kubernetes examples only use flags the sidecar knows, and configure the models they claim to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../src/index.js';

const dir = join(import.meta.dirname, '../../../examples/kubernetes');

/** The `args:` lists of the containers of a manifest (one per block of "- --flag" lines). */
function argLists(yaml: string): string[][] {
  const lists: string[][] = [];
  let cur: string[] | undefined;
  for (const line of yaml.split('\n')) {
    if (/^\s*args:\s*$/.test(line)) lists.push((cur = []));
    else if (cur && /^\s*- --/.test(line)) cur.push(line.replace(/^\s*- /, '').replace(/\s+#.*$/, '').trim());
    else if (cur && line.trim() !== '' && !/^\s*#/.test(line)) cur = undefined;
  }
  return lists;
}

t.test('manifest args parse', async (t) => {
  const expect: Record<string, string[]> = {
    'deployment.yaml': ['package'],
    'kserve-inferenceservice.yaml': ['remote'],
    'seldon-mlserver.yaml': ['remote'],
  };
  for (const [file, kinds] of Object.entries(expect)) {
    const lists = argLists(readFileSync(join(dir, file), 'utf8'));
    t.equal(lists.length, 1, `${file}: one sidecar container`);
    const c = loadConfig(lists[0]!, {});
    t.same(c.models.map((m) => m.kind), kinds, `${file}: ${kinds.join(', ')} model`);
    if (c.models[0]!.kind === 'remote') t.equal(c.models[0]!.featureNames?.length, 8, `${file}: feature names for the remote model`);
  }
  const docker = readFileSync(join(dir, 'Dockerfile'), 'utf8');
  t.match(docker, /ENTRYPOINT \["node", "\/app\/apps\/explainer-sidecar\/dist\/main.js"\]/, 'Dockerfile runs the built CLI in exec form (gets SIGTERM)');
});
