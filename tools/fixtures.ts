/**
 * Locates the shared test fixtures (`../shared/fixtures` next to the repository root) for tests and benchmarks.
 * Fails loudly when they are missing: exactness is only shown against those independent oracles.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './fixtures-root.js';

export { repoRoot };

/** Absolute path of the shared fixtures folder; GENOME_FIXTURES overrides it. */
export const fixturesDir: string = (() => {
  const dir = process.env.GENOME_FIXTURES ? resolve(process.env.GENOME_FIXTURES) : resolve(repoRoot, '..', 'shared', 'fixtures');
  if (!existsSync(join(dir, 'PROVENANCE.md'))) {
    throw new Error(
      `Test fixtures not found at ${dir}. Clone the shared folder next to the repository (../shared/fixtures) ` +
        'or set GENOME_FIXTURES to its path.',
    );
  }
  return dir;
})();

/** Path of a fixture file, relative to the fixtures folder; throws when it does not exist. */
export function fixture(...parts: string[]): string {
  const p = join(fixturesDir, ...parts);
  if (!existsSync(p)) throw new Error(`Fixture missing: ${p}`);
  return p;
}

export function readFixture(...parts: string[]): Buffer {
  return readFileSync(fixture(...parts));
}

export function readFixtureText(...parts: string[]): string {
  return readFileSync(fixture(...parts), 'utf8');
}

export function readFixtureJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFixtureText(...parts)) as T;
}

/** Parses a CSV with a header row of numeric cells (blank cells become NaN). */
export function readNumericCsv(...parts: string[]): { header: string[]; rows: number[][] } {
  const lines = readFixtureText(...parts).split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(',').map((c) => (c === '' ? Number.NaN : Number(c))));
  return { header, rows };
}
