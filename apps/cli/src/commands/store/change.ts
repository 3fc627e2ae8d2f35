/** `genome store alias | rm | restore | gc`: changing the store. */
import { Command } from 'commander';
import { CliError } from '../../errors.js';
import { json, gcText, ref, shortTime } from '../../store/format.js';
import { parseAliasTarget, parseDuration } from '../../store/parse.js';
import { withStore } from '../../store/session.js';
import { textTable } from '../../output/text-table.js';
import { examples, type CommandContext } from '../command-context.js';
import { STORE_FOOTER, withJsonAndHelp } from './common.js';

export function aliasCommand(ctx: CommandContext): Command {
  const set = new Command('set')
    .description('point an alias of a model at a version (creates or moves it, atomically)')
    .argument('<name>', 'the model')
    .argument('<alias>', 'the alias, e.g. production (never a number)')
    .argument('<version>', 'a version number (3) or a reference (name/3, name@staging, name = its latest version)');
  withJsonAndHelp(set, `\n--json prints {"name", "alias", "version", "previous"?}.\n`, [
    'genome store alias set housing production 3',
    'genome store alias set housing production housing@staging   # promote',
  ])
    .action(async (name: string, alias: string, target: string, flags: { json?: boolean }, command: Command) => {
      const { version, previous } = await withStore(command, async ({ store }) => {
        const before = (await store.getModel(name)).aliases[alias];
        const v = await store.setAlias(name, alias, parseAliasTarget(target));
        return { version: v.version, previous: before };
      });
      if (flags.json) {
        ctx.io.stdout.write(json({ name, alias, version, ...(previous !== undefined ? { previous } : {}) }));
        return;
      }
      const was = previous === undefined ? 'new alias' : previous === version ? 'unchanged' : `was ${name}/${previous}`;
      ctx.io.stdout.write(`${name}@${alias} -> ${name}/${version} (${was})\n`);
    });

  const rm = new Command('rm')
    .alias('delete')
    .description('remove an alias of a model (the version stays)')
    .argument('<name>', 'the model')
    .argument('<alias>', 'the alias');
  withJsonAndHelp(rm, `\nAn alias the model does not have is NOT_FOUND (exit 4).\n`, ['genome store alias rm housing staging'])
    .action(async (name: string, alias: string, flags: { json?: boolean }, command: Command) => {
      const previous = await withStore(command, async ({ store }) => {
        const before = (await store.getModel(name)).aliases[alias];
        if (!(await store.deleteAlias(name, alias))) throw new CliError('NOT_FOUND', `model "${name}" has no alias "${alias}"`, 'NOT_FOUND');
        return before;
      });
      ctx.io.stdout.write(
        flags.json ? json({ name, alias, ...(previous !== undefined ? { previous } : {}) }) : `removed ${name}@${alias}${previous !== undefined ? ` (was ${name}/${previous})` : ''}\n`,
      );
    });

  const list = new Command('list')
    .alias('ls')
    .description('list the aliases of a model')
    .argument('<name>', 'the model');
  withJsonAndHelp(list, `\n--json prints {"alias": version, ...}.\n`, ['genome store alias list housing'])
    .action(async (name: string, flags: { json?: boolean }, command: Command) => {
      const aliases = await withStore(command, async ({ store }) => (await store.getModel(name)).aliases);
      if (flags.json) {
        ctx.io.stdout.write(json(aliases));
        return;
      }
      const rows = Object.entries(aliases)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([a, v]) => [a, `${name}/${v}`]);
      ctx.io.stdout.write(rows.length ? `${textTable(rows, { head: ['ALIAS', 'VERSION'] })}\n` : `${name} has no aliases\n`);
    });

  return new Command('alias')
    .description('set, move, remove and list the aliases of a model (name@alias references)')
    .addCommand(set)
    .addCommand(rm)
    .addCommand(list)
    .addHelpText('after', `${examples(['genome store alias set housing production 3', 'genome store alias rm housing staging', 'genome store alias list housing'])}${STORE_FOOTER}`);
}

export function rmCommand(ctx: CommandContext): Command {
  const cmd = new Command('rm')
    .alias('delete')
    .description('soft-delete a version (restore brings it back; its aliases are removed), or with --purge remove it for good')
    .argument('<ref>', 'name/3, name@alias or name (the latest ready version); with --purge also a deleted name/3')
    .option('--purge', 'remove the version for good (soft-deleting it first when needed); `genome store gc` then frees its blobs');
  return withJsonAndHelp(cmd, `\n--json prints the version (state "deleted"), or {"name", "version", "purged": true} with --purge.\n`, [
    'genome store rm housing/2',
    'genome store rm housing/2 --purge && genome store gc --grace 0',
  ])
    .action(async (r: string, flags: { purge?: boolean; json?: boolean }, command: Command) => {
      const text = await withStore(command, async ({ store, lib }) => {
        if (!flags.purge) {
          const v = await store.deleteVersion(r);
          return flags.json ? json(v) : `deleted ${ref(v)} (restore it with: genome store restore ${ref(v)})\n`;
        }
        const parsed = lib.parseRef(r);
        const v = await store.getVersion(r, { includeDeleted: parsed.kind === 'version' });
        const exact = { name: v.name, version: v.version };
        if (v.state === 'ready') await store.deleteVersion(exact);
        await store.purgeVersion(exact);
        return flags.json ? json({ ...exact, purged: true }) : `purged ${ref(v)}; genome store gc frees the blobs no other version uses\n`;
      });
      ctx.io.stdout.write(text);
    });
}

export function restoreCommand(ctx: CommandContext): Command {
  const cmd = new Command('restore')
    .description('restore a soft-deleted version (its former aliases are not restored)')
    .argument('<name/version>', 'the version, by number: name/3');
  return withJsonAndHelp(cmd, '', ['genome store restore housing/2', 'genome store list housing --include-deleted   # find deleted versions'])
    .action(async (r: string, flags: { json?: boolean }, command: Command) => {
      const v = await withStore(command, ({ store }) => store.restoreVersion(r));
      ctx.io.stdout.write(flags.json ? json(v) : `restored ${ref(v)} (state ${v.state}, updated ${shortTime(v.updatedAt)})\n`);
    });
}

interface GcFlags {
  grace?: number;
  purgeDeletedOlderThan?: number;
  dryRun?: boolean;
  json?: boolean;
}

const GC_HELP = `
Durations: 0, or a number with a unit: ms, s, m, h, d, w (30s, 10m, 1h, 7d).
A soft-deleted version keeps its blobs until it is purged (genome store rm --purge, or --purge-deleted-older-than).
--json prints {"referencedBlobs", "removedBlobs", "removedBytes", "keptYoungBlobs", "purgedVersions"}.
`;

export function gcCommand(ctx: CommandContext): Command {
  const cmd = new Command('gc')
    .description('garbage-collect blobs no version references (ready or soft-deleted), older than a grace period')
    .option('--grace <duration>', 'keep unreferenced blobs younger than this: a save may be uploading them (default 1h)', parseDuration)
    .option('--purge-deleted-older-than <duration>', 'first purge versions soft-deleted longer ago than this (e.g. 30d)', parseDuration)
    .option('--dry-run', 'report what would be removed, remove nothing');
  return withJsonAndHelp(cmd, GC_HELP, ['genome store gc --dry-run', 'genome store gc --grace 0', 'genome store gc --purge-deleted-older-than 30d --json'])
    .action(async (flags: GcFlags, command: Command) => {
      const report = await withStore(command, ({ store }) =>
        store.gc({
          ...(flags.grace !== undefined ? { graceMs: flags.grace } : {}),
          ...(flags.purgeDeletedOlderThan !== undefined ? { purgeDeletedOlderThanMs: flags.purgeDeletedOlderThan } : {}),
          dryRun: flags.dryRun === true,
        }),
      );
      ctx.io.stdout.write(flags.json ? json(report) : gcText(report, flags.dryRun === true));
    });
}
