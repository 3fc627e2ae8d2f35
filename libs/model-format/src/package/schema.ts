/**
 * The JSON Schema of `genome.json` (draft 2020-12), shipped in the npm package as
 * `@genome/model-format/genome-package.schema.json` and loaded here from the same file.
 */
import { readFileSync } from 'node:fs';

/** URL of the schema file inside the installed package (works from src/ and dist/). */
export const GENOME_PACKAGE_SCHEMA_URL = new URL('../../schema/genome-package.schema.json', import.meta.url);

let cached: Record<string, unknown> | undefined;

/** The manifest JSON Schema as a parsed object (a fresh copy per call). */
export function genomePackageSchema(): Record<string, unknown> {
  cached ??= JSON.parse(readFileSync(GENOME_PACKAGE_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  return structuredClone(cached);
}
