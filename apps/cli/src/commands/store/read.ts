/** `genome store get | list | search | download | lineage`: reading the store. */
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { ModelVersion, RegisteredModel, SearchCondition } from '@genome/model-store';
import { usageError } from '../../errors.js';
import { formatBytes } from '../../output/bytes.js';
import { progressBar } from '../../progress.js';
import { json, modelsTable, ref, runLineageText, versionDetails, versionLineageText, versionsTable } from '../../store/format.js';
import { addPagingOptions, moreHint, pages, type PagingFlags } from '../../store/paging.js';
import { collectOrderBy, type OrderKey } from '../../store/parse.js';
import { withStore } from '../../store/session.js';
import { collect } from '../../options.js';
import type { CommandContext } from '../command-context.js';
import { withJsonAndHelp } from './common.js';

const REFS = `References: name/3 (version 3), name@production (the version the alias points at), name (the latest ready version).`;

export function getCommand(ctx: CommandContext): Command {
  const cmd = new Command('get')
    .description('show a version: metadata, tags, metrics, aliases and files')
    .argument('<ref>', 'name/3, name@alias or name (the latest ready version)')
    .option('--include-deleted', 'let name/3 name a soft-deleted version');
  return withJsonAndHelp(cmd, `\n${REFS}\n`, ['genome store get housing@production', "genome store get housing/2 --json | jq -r '.files[].path'"])
    .action(async (r: string, flags: { includeDeleted?: boolean; json?: boolean }, command: Command) => {
      const v = await withStore(command, ({ store }) => store.getVersion(r, { includeDeleted: flags.includeDeleted === true }));
      ctx.io.stdout.write(flags.json ? json(v) : versionDetails(v));
    });
}

interface ListFlags extends PagingFlags {
  prefix?: string;
  includeDeleted?: boolean;
  json?: boolean;
}

export function listCommand(ctx: CommandContext): Command {
  const cmd = new Command('list')
    .alias('ls')
    .description('list the models (by name), or the versions of one model (newest first)')
    .argument('[name]', 'a model: list its versions')
    .option('--prefix <prefix>', 'only models whose name starts with this (without [name])')
    .option('--include-deleted', 'also list soft-deleted versions (with [name])');
  addPagingOptions(cmd);
  return withJsonAndHelp(cmd, '\n--json prints {"models": [...]} or {"versions": [...]}, with "nextPageToken" when more pages follow.\n', [
    'genome store list',
    'genome store list housing --include-deleted',
    "genome store list --prefix fraud- --all --json | jq -r '.models[].name'",
  ])
    .action(async (name: string | undefined, flags: ListFlags, command: Command) => {
      if (name !== undefined && flags.prefix !== undefined) throw usageError('--prefix lists models: give it without a model name');
      if (name === undefined && flags.includeDeleted) throw usageError('--include-deleted lists the deleted versions of a model: give the model name');
      await withStore(command, async ({ store }) => {
        if (name === undefined) {
          const page = await pages<RegisteredModel>(flags, async (p) => {
            const r = await store.listModels({ ...p, ...(flags.prefix !== undefined ? { namePrefix: flags.prefix } : {}) });
            return { items: r.models, nextPageToken: r.nextPageToken };
          });
          out(ctx, flags, { models: page.items }, modelsTable(page.items), page.nextPageToken);
        } else {
          const page = await pages<ModelVersion>(flags, async (p) => {
            const r = await store.listVersions(name, { ...p, includeDeleted: flags.includeDeleted === true });
            return { items: r.versions, nextPageToken: r.nextPageToken };
          });
          out(ctx, flags, { versions: page.items }, versionsTable(page.items), page.nextPageToken);
        }
      });
    });
}

function out(ctx: CommandContext, flags: { json?: boolean }, body: Record<string, unknown>, text: string, next: string | undefined): void {
  if (flags.json) {
    ctx.io.stdout.write(json(next ? { ...body, nextPageToken: next } : body));
    return;
  }
  ctx.io.stdout.write(text);
  if (next) ctx.io.stderr.write(moreHint(next));
}

interface SearchFlags extends PagingFlags {
  filter?: string;
  name?: string;
  alias?: string[];
  orderBy?: OrderKey[];
  latest?: boolean;
  includeDeleted?: boolean;
  json?: boolean;
}

/** The fields a filter can name (the library's FIELD_NAMES_HELP; repeated here so that --help does not load the library). */
export const FIELD_NAMES =
  'name, version, state, alias, createdAt, updatedAt, createdBy, digest, application, pipelineName, pipelineRunId, pipelineStage, ' +
  'framework, inputModality, versionName, description, tags.<key>, metrics.<key>';

const SEARCH_HELP = `
Filter: condition (AND condition)*, a condition being field op value. Operators: = != < <= > >= LIKE 'prefix%' IN ('a', 'b').
Values: 'text' or "text" (a quote inside doubled), numbers. OR, NOT and parentheses are not supported.
Fields: ${FIELD_NAMES}
(also snake_case and MLflow spellings: pipeline_run_id, run_id, version_number, creation_timestamp, tag.<key>, metric.<key>).
--json prints {"versions": [...]}, with "nextPageToken" when more pages follow.
`;

export function searchCommand(ctx: CommandContext): Command {
  const cmd = new Command('search')
    .description('search versions by metadata, tags, metrics, aliases and times (MLflow-style filter)')
    .option('--filter <filter>', "conditions joined by AND, e.g. \"application = 'fraud' AND metrics.auc >= 0.9 AND tags.team LIKE 'risk%'\"")
    .option('--name <name>', 'only versions of this model (same as name = \'...\' in the filter)')
    .option('--alias <alias>', 'only versions holding this alias (repeatable: any of them)', collect)
    .option('--order-by <field [asc|desc]>', 'sort key, e.g. "metrics.auc desc" (repeatable or comma-separated; default createdAt desc)', collectOrderBy)
    .option('--latest', 'only the highest matching version of each model')
    .option('--include-deleted', 'also soft-deleted versions');
  addPagingOptions(cmd);
  return withJsonAndHelp(cmd, SEARCH_HELP, [
    "genome store search --filter \"application = 'pricing' AND metrics.rmse < 0.6\" --order-by 'metrics.rmse asc'",
    'genome store search --alias production --latest',
    "genome store search --filter \"tags.team LIKE 'risk%'\" --all --json | jq -r '.versions[] | \"\\(.name)/\\(.version)\"'",
  ])
    .action(async (flags: SearchFlags, command: Command) => {
      const where: SearchCondition[] = [];
      if (flags.name !== undefined) where.push({ field: 'name', op: '=', value: flags.name });
      if (flags.alias?.length) where.push(flags.alias.length === 1 ? { field: 'alias', op: '=', value: flags.alias[0]! } : { field: 'alias', op: 'in', value: flags.alias });
      await withStore(command, async ({ store }) => {
        const page = await pages<ModelVersion>(flags, async (p) => {
          const r = await store.search({
            ...p,
            ...(where.length ? { where } : {}),
            ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
            ...(flags.orderBy ? { orderBy: flags.orderBy } : {}),
            latestOnly: flags.latest === true,
            includeDeleted: flags.includeDeleted === true,
          });
          return { items: r.versions, nextPageToken: r.nextPageToken };
        });
        out(ctx, flags, { versions: page.items }, versionsTable(page.items), page.nextPageToken);
      });
    });
}

export function downloadCommand(ctx: CommandContext): Command {
  const cmd = new Command('download')
    .description("write a version's files into a directory, each verified against its SHA-256")
    .argument('<ref>', 'name/3, name@alias or name (the latest ready version)')
    .argument('<dir>', 'where to write the package: absent or empty (it appears only once every file is verified)')
    .option('-q, --quiet', 'no progress bar');
  return withJsonAndHelp(cmd, `\n${REFS}\n--json prints {"dir": ..., "version": {...}}.\n`, [
    'genome store download housing@production ./housing',
    'genome store download housing/2 /tmp/h2 --json | jq -r .dir',
  ])
    .action(async (r: string, dir: string, flags: { quiet?: boolean; json?: boolean }, command: Command) => {
      const target = resolve(dir);
      await checkTargetDir(target);
      const v = await withStore(command, async ({ store }) => {
        const version = await store.getVersion(r);
        const bar = progressBar(ctx.io.stderr, !flags.quiet, `downloading ${ref(version)}`, { unit: 'bytes' });
        try {
          // The version resolved above, by number: an alias moved meanwhile does not change what is written.
          return await store.download({ name: version.name, version: version.version }, target, {
            onProgress: (p) => bar.update(p.packageBytes, p.packageTotalBytes),
          });
        } finally {
          bar.stop();
        }
      });
      ctx.io.stdout.write(
        flags.json
          ? json({ dir: target, version: v })
          : `downloaded ${ref(v)} to ${target} (${v.files.length} files, ${formatBytes(v.size)}, verified against their SHA-256)\n`,
      );
    });
}

export function lineageCommand(ctx: CommandContext): Command {
  const cmd = new Command('lineage')
    .description('lineage: the pipeline run that produced a version and the runs that consumed it, or what a run produced and consumed')
    .argument('[ref]', 'a version: name/3, name@alias or name')
    .option('--run <runId>', 'a pipeline run instead of a version');
  return withJsonAndHelp(cmd, `\nVersions saved with --pipeline-run-id are produced by that run.\n`, ['genome store lineage housing/3', 'genome store lineage --run run-42 --json'])
    .action(async (r: string | undefined, flags: { run?: string; json?: boolean }, command: Command) => {
      if ((r === undefined) === (flags.run === undefined)) throw usageError('give a version reference or --run <runId> (one of them)');
      const text = await withStore(command, async ({ store }) => {
        if (flags.run !== undefined) {
          const l = await store.runLineage(flags.run);
          return flags.json ? json(l) : runLineageText(l);
        }
        const v = await store.getVersion(r!, { includeDeleted: true });
        const l = await store.versionLineage({ name: v.name, version: v.version });
        return flags.json ? json({ name: v.name, version: v.version, ...l }) : versionLineageText(ref(v), l);
      });
      ctx.io.stdout.write(text);
    });
}

/** The download target must be absent or an empty directory: checked before the store is opened (a usage error). */
async function checkTargetDir(target: string): Promise<void> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw usageError(`${target} is not a directory: give an absent or empty directory to download into`);
  if ((await readdir(target)).length > 0) throw usageError(`${target} is not empty: give an absent or empty directory to download into`);
}
