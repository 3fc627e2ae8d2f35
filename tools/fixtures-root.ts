/** The repository root (the folder holding nx.json), for tests that run repo scripts. No fixture lookup. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('could not find the repository root (no nx.json above tools/)');
    dir = up;
  }
})();
