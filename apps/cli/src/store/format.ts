/** Human output of `genome store` (tables and details) and the JSON it prints with --json. */
import type { GcReport, ModelVersion, RegisteredModel, RunLineage, VersionLineage } from '@genome/model-store';
import { formatBytes } from '../output/bytes.js';
import { textTable } from '../output/text-table.js';

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** An ISO time to the second, for tables: `2026-12-06T09:19:39Z`. */
export function shortTime(iso: string | undefined): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : '-';
}

const pairs = (o: Record<string, string | number>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

export const ref = (v: Pick<ModelVersion, 'name' | 'version'>): string => `${v.name}/${v.version}`;

export function versionsTable(versions: readonly ModelVersion[]): string {
  if (versions.length === 0) return 'no versions\n';
  const rows = versions.map((v) => [
    v.name,
    String(v.version),
    v.aliases.join(',') || '-',
    v.state,
    shortTime(v.createdAt),
    formatBytes(v.size),
    v.metadata.versionName ?? '-',
    pairs(v.metrics),
    pairs(v.tags),
  ]);
  return `${textTable(rows, { head: ['NAME', 'VERSION', 'ALIASES', 'STATE', 'CREATED', 'SIZE', 'VERSION NAME', 'METRICS', 'TAGS'] })}\n`;
}

export function modelsTable(models: readonly RegisteredModel[]): string {
  if (models.length === 0) return 'no models\n';
  const rows = models.map((m) => [
    m.name,
    String(m.latestVersion),
    String(m.versions - m.deletedVersions),
    String(m.deletedVersions),
    Object.entries(m.aliases)
      .map(([a, v]) => `${a}=${v}`)
      .join(',') || '-',
    shortTime(m.updatedAt),
  ]);
  return `${textTable(rows, { head: ['NAME', 'LATEST', 'VERSIONS', 'DELETED', 'ALIASES', 'UPDATED'] })}\n`;
}

function fields(lines: [string, string | undefined][]): string {
  const shown = lines.filter((l): l is [string, string] => l[1] !== undefined && l[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
}

/** `genome store get`: every field of a version, then its files. */
export function versionDetails(v: ModelVersion): string {
  const m = v.metadata;
  const head = fields([
    ['state', v.deletedAt ? `${v.state} (since ${shortTime(v.deletedAt)})` : v.state],
    ['aliases', v.aliases.join(', ') || '-'],
    ['created', `${shortTime(v.createdAt)}${v.createdBy ? ` by ${v.createdBy}` : ''}`],
    ['updated', shortTime(v.updatedAt)],
    ['version name', m.versionName],
    ['description', m.description],
    ['application', m.application],
    ['framework', m.framework],
    ['input modality', m.inputModality],
    ['pipeline', m.pipelineName],
    ['pipeline run', m.pipelineRunId],
    ['pipeline stage', m.pipelineStage],
    ['tags', Object.keys(v.tags).length ? pairs(v.tags).replaceAll(',', ', ') : undefined],
    ['metrics', Object.keys(v.metrics).length ? pairs(v.metrics).replaceAll(',', ', ') : undefined],
    ['digest', v.digest],
    ['size', `${formatBytes(v.size)} in ${v.files.length} file${v.files.length === 1 ? '' : 's'}`],
  ]);
  const files = textTable(
    v.files.map((f) => [f.path, formatBytes(f.size), f.sha256]),
    { head: ['PATH', 'SIZE', 'SHA256'], align: ['left', 'right', 'left'], indent: 2 },
  );
  return `${ref(v)}\n${head}\nfiles:\n${files}\n`;
}

/** One line saying what a save made. */
export function savedLine(v: ModelVersion): string {
  const aliases = v.aliases.length ? `, aliases ${v.aliases.join(', ')}` : '';
  return `saved ${ref(v)} (${v.files.length} files, ${formatBytes(v.size)}, digest ${v.digest.slice(0, 12)}${aliases})\n`;
}

export function gcText(r: GcReport, dryRun: boolean): string {
  const would = dryRun ? 'would remove' : 'removed';
  const lines = [
    `${dryRun ? 'dry run: ' : ''}${would} ${r.removedBlobs} unreferenced blob${r.removedBlobs === 1 ? '' : 's'} (${formatBytes(r.removedBytes)})`,
    `kept ${r.referencedBlobs} referenced blob${r.referencedBlobs === 1 ? '' : 's'}` +
      (r.keptYoungBlobs > 0 ? `, and ${r.keptYoungBlobs} unreferenced blob${r.keptYoungBlobs === 1 ? '' : 's'} younger than the grace period` : ''),
  ];
  if (r.purgedVersions.length > 0) lines.push(`${dryRun ? 'would purge' : 'purged'} ${r.purgedVersions.map(ref).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function versionLineageText(name: string, l: VersionLineage): string {
  const by = l.producedBy
    ? `produced by run ${l.producedBy.runId}${l.producedBy.pipelineName ? ` of pipeline ${l.producedBy.pipelineName}` : ''}${l.producedBy.stage ? `, stage ${l.producedBy.stage}` : ''}`
    : 'produced by: no pipeline run recorded';
  const consumed = l.consumedBy.length
    ? l.consumedBy.map((c) => `  ${c.runId}${c.stage ? ` (stage ${c.stage})` : ''}\n`).join('')
    : '  (none)\n';
  return `${name}\n${by}\nconsumed by runs:\n${consumed}`;
}

export function runLineageText(l: RunLineage): string {
  const list = (xs: RunLineage['produced']): string =>
    xs.length ? xs.map((x) => `  ${ref(x)}${x.stage ? ` (stage ${x.stage})` : ''}\n`).join('') : '  (none)\n';
  return `run ${l.runId}\nproduced:\n${list(l.produced)}consumed:\n${list(l.consumed)}`;
}
