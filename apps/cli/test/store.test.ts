// `genome store` against a scratch store (SQLite metadata and blob directory in a temporary directory): save
// (directory and archive), get, list and paging, search with filters, aliases, rm / restore, purge and gc freeing
// blobs, download verified, lineage, --json everywhere, errors with their exit codes, and --help. Most runs are
// in process (runCli with captured output, ~1 s less each); a few (`storeProcess`, `genome`) run the real executable
// as a child process: a save, a --json search, GENOME_STORE_DIR from the environment, an error's exit code, --help.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { exits, STACK } from './helpers/assertions.js';
import { genome, genomeInProcess, type Run } from './helpers/genome.js';
import { blobFiles, fileHashes, makePackage, scratch, type VersionJson } from './helpers/store.js';

interface Page {
  versions?: VersionJson[];
  models?: { name: string; latestVersion: number; versions: number; deletedVersions: number; aliases: Record<string, number> }[];
  nextPageToken?: string;
}

const parse = <T>(r: Run): T => JSON.parse(r.stdout) as T;
const refs = (p: Page): string[] => (p.versions ?? []).map((v) => `${v.name}/${v.version}`);

t.test('genome store on a local store', async (t) => {
  const dir = scratch(t);
  const storeDir = join(dir, 'store');
  const p1 = makePackage(dir, 'p1', 'housing one');
  const p2 = makePackage(dir, 'p2', 'housing two');
  const p3 = makePackage(dir, 'p3', 'housing three, from an archive');
  const archive = join(dir, 'p3.tar.gz');
  execFileSync('tar', ['czf', archive, '-C', p3, '.']);
  const store = (...args: string[]) => genomeInProcess(['store', '--store-dir', storeDir, ...args]);
  const storeProcess = (...args: string[]) => genome(['store', '--store-dir', storeDir, ...args]);

  t.test('save: prints the new version; tags, metrics, metadata and aliases are stored', async (t) => {
    const r = await storeProcess('save', p1, '--name', 'housing', '--application', 'pricing', '--tag', 'team=pricing', '--metric', 'rmse=0.52', '--alias', 'staging');
    exits(t, r, 0);
    t.match(r.stdout, /^saved housing\/1 \(4 files, \d+(\.\d)? KiB, digest [0-9a-f]{12}, aliases staging\)\n$/);
    t.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');

    const two = await store(
      'save', p2, '--name', 'housing', '--json',
      '--application', 'pricing', '--version-name', 'june retrain', '--description', 'the second one',
      '--pipeline-name', 'train-housing', '--pipeline-run-id', 'run-7', '--pipeline-stage', 'train',
      '--tag', 'team=risk', '--tag', 'note=a=b', '--metric', 'rmse=0.48', '--metric', 'r2=0.81',
    );
    exits(t, two, 0);
    const v = parse<VersionJson>(two);
    t.equal(v.name, 'housing');
    t.equal(v.version, 2);
    t.same(v.tags, { team: 'risk', note: 'a=b' }, 'a tag value keeps everything after the first "="');
    t.same(v.metrics, { rmse: 0.48, r2: 0.81 });
    t.match(v.metadata, { application: 'pricing', versionName: 'june retrain', description: 'the second one', pipelineName: 'train-housing', pipelineRunId: 'run-7', pipelineStage: 'train', framework: 'onnx', inputModality: 'tabular' });
    t.same(v.files.map((f) => f.path).sort(), ['README.md', 'background.csv', 'genome.json', 'model.onnx']);

    const three = await store('save', archive, '--name', 'housing', '--application', 'other', '--metric', 'rmse=0.7', '--json');
    exits(t, three, 0, 'a .tar.gz archive');
    t.equal(parse<VersionJson>(three).version, 3);

    const fraud = await store('save', p1, '--name', 'fraud', '--tag', 'team=risk-ops', '--metric', 'auc=0.93', '--alias', 'production', '--quiet');
    exits(t, fraud, 0);
    t.match(fraud.stdout, /^saved fraud\/1 /);
  });

  t.test('get: details and files; --json', async (t) => {
    const r = await store('get', 'housing@staging');
    exits(t, r, 0);
    t.match(r.stdout, /^housing\/1\n/);
    t.match(r.stdout, /\n {2}aliases +staging\n/);
    t.match(r.stdout, /\n {2}tags +team=pricing\n/);
    t.match(r.stdout, /\n {2}metrics +rmse=0\.52\n/);
    t.match(r.stdout, /\nfiles:\n {2}PATH +SIZE +SHA256\n/);
    t.match(r.stdout, /\n {2}model\.onnx +\d+ KiB +[0-9a-f]{64}\n/);
    const latest = parse<VersionJson>(await store('get', 'housing', '--json'));
    t.equal(latest.version, 3, 'a bare name is the latest ready version');
    const byNumber = parse<VersionJson>(await store('get', 'housing/2', '--json'));
    t.equal(byNumber.metadata.versionName, 'june retrain');
  });

  t.test('list: models, versions, pages', async (t) => {
    const models = await store('list');
    exits(t, models, 0);
    const lines = models.stdout.trimEnd().split('\n');
    t.match(lines[0], /^NAME +LATEST +VERSIONS +DELETED +ALIASES +UPDATED$/);
    t.match(lines[1], /^fraud +1 +1 +0 +production=1 /);
    t.match(lines[2], /^housing +3 +3 +0 +staging=1 /);
    const mj = parse<Page>(await store('list', '--json'));
    t.same(mj.models!.map((m) => m.name), ['fraud', 'housing']);
    t.notOk('nextPageToken' in mj);

    const versions = await store('list', 'housing');
    exits(t, versions, 0);
    t.match(versions.stdout, /^NAME +VERSION +ALIASES +STATE +CREATED +SIZE +VERSION NAME +METRICS +TAGS\n/);
    t.same(
      versions.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('/')),
      ['housing/3', 'housing/2', 'housing/1'],
      'newest first',
    );

    const first = parse<Page>(await store('list', 'housing', '--page-size', '2', '--json'));
    t.same(refs(first), ['housing/3', 'housing/2']);
    t.type(first.nextPageToken, 'string', 'a token when more pages follow');
    const second = parse<Page>(await store('list', 'housing', '--page-size', '2', '--page-token', first.nextPageToken!, '--json'));
    t.same(refs(second), ['housing/1']);
    t.notOk(second.nextPageToken);
    const all = parse<Page>(await store('list', 'housing', '--page-size', '1', '--all', '--json'));
    t.same(refs(all), ['housing/3', 'housing/2', 'housing/1'], '--all follows every page');
    t.notOk(all.nextPageToken);
    const text = await store('list', '--page-size', '1');
    exits(t, text, 0);
    t.match(text.stderr, /^more results: add --page-token [A-Za-z0-9_-]+ \(or --all\)\n$/, 'the hint goes to stderr');
    const prefixed = parse<Page>(await store('list', '--prefix', 'hou', '--json'));
    t.same(prefixed.models!.map((m) => m.name), ['housing']);
  });

  t.test('search: filters, alias, latest, order', async (t) => {
    const s = async (...args: string[]) => {
      const r = await store('search', ...args, '--json');
      exits(t, r, 0, args.join(' '));
      return refs(parse<Page>(r));
    };
    t.same(await s('--filter', 'metrics.rmse < 0.5'), ['housing/2']);
    t.same(await s('--filter', "application = 'pricing' AND metrics.rmse >= 0.5"), ['housing/1']);
    t.same(await s('--filter', "tags.team LIKE 'risk%'"), ['fraud/1', 'housing/2'], 'LIKE prefix; ties by name then version');
    t.same(await s('--filter', "name IN ('fraud')"), ['fraud/1']);
    t.same(await s('--filter', "pipeline_run_id = 'run-7'"), ['housing/2'], 'snake_case field names');
    t.same(await s('--alias', 'staging'), ['housing/1']);
    t.same(await s('--alias', 'staging', '--alias', 'production'), ['fraud/1', 'housing/1']);
    t.same(await s('--name', 'housing', '--order-by', 'metrics.rmse asc'), ['housing/2', 'housing/1', 'housing/3']);
    t.same(await s('--order-by', 'version desc, name asc', '--latest'), ['housing/3', 'fraud/1'], 'latest of each model');
    t.same(await s('--filter', 'metrics.rmse > 5'), []);
    const all = parse<Page>(await storeProcess('search', '--page-size', '2', '--all', '--json'));
    t.equal(all.versions!.length, 4);
    const table = await store('search', '--filter', 'metrics.rmse < 0.5');
    exits(t, table, 0);
    t.match(table.stdout, /^NAME .*\nhousing +2 +- +ready +\S+ +\d+ KiB +june retrain +r2=0\.81,rmse=0\.48 +note=a=b,team=risk\n$/);
    const none = await store('search', '--filter', "application = 'nothing'");
    t.equal(none.stdout, 'no versions\n');
  });

  t.test('alias set / move / list / rm', async (t) => {
    const set = await store('alias', 'set', 'housing', 'production', '2');
    exits(t, set, 0);
    t.equal(set.stdout, 'housing@production -> housing/2 (new alias)\n');
    const moved = await store('alias', 'set', 'housing', 'production', 'housing@staging', '--json');
    exits(t, moved, 0);
    t.same(parse(moved), { name: 'housing', alias: 'production', version: 1, previous: 2 }, 'moved to what staging points at');
    t.equal(parse<VersionJson>(await store('get', 'housing@production', '--json')).version, 1);
    const same = await store('alias', 'set', 'housing', 'production', 'housing/1');
    t.equal(same.stdout, 'housing@production -> housing/1 (unchanged)\n');
    t.same(parse(await store('alias', 'list', 'housing', '--json')), { production: 1, staging: 1 });
    const listed = await store('alias', 'ls', 'housing');
    t.match(listed.stdout, /^ALIAS +VERSION\nproduction +housing\/1\nstaging +housing\/1\n$/);

    const rm = await store('alias', 'rm', 'housing', 'staging');
    exits(t, rm, 0);
    t.equal(rm.stdout, 'removed housing@staging (was housing/1)\n');
    const gone = await store('get', 'housing@staging');
    exits(t, gone, 4, 'a removed alias is NOT_FOUND');
    t.match(gone.stderr, /^error: NOT_FOUND: /);
    const again = await store('alias', 'rm', 'housing', 'staging');
    exits(t, again, 4, 'removing an alias the model lacks');
    t.equal(again.stderr, 'error: NOT_FOUND: model "housing" has no alias "staging"\n');
    const numeric = await store('alias', 'set', 'housing', '7', '1');
    exits(t, numeric, 2, 'an alias that is a number');
    t.match(numeric.stderr, /^error: INVALID_ARGUMENT: /);
    const otherModel = await store('alias', 'set', 'housing', 'x', 'fraud/1');
    exits(t, otherModel, 2, 'an alias pointing at another model');
  });

  t.test('rm and restore', async (t) => {
    const rm = await store('rm', 'housing/3');
    exits(t, rm, 0);
    t.equal(rm.stdout, 'deleted housing/3 (restore it with: genome store restore housing/3)\n');
    t.same(refs(parse<Page>(await store('list', 'housing', '--json'))), ['housing/2', 'housing/1'], 'gone from the list');
    const withDeleted = parse<Page>(await store('list', 'housing', '--include-deleted', '--json'));
    t.same(withDeleted.versions!.map((v) => `${v.version}:${v.state}`), ['3:deleted', '2:ready', '1:ready']);
    t.equal(parse<VersionJson>(await store('get', 'housing', '--json')).version, 2, 'the latest ready version is now 2');
    t.same(await store('search', '--filter', "application = 'other'", '--json').then((r) => refs(parse<Page>(r))), [], 'and out of searches');
    exits(t, await store('get', 'housing/3'), 4, 'get of a deleted version');
    t.equal(parse<VersionJson>(await store('get', 'housing/3', '--include-deleted', '--json')).state, 'deleted');

    const restore = await store('restore', 'housing/3', '--json');
    exits(t, restore, 0);
    t.equal(parse<VersionJson>(restore).state, 'ready');
    t.equal(parse<VersionJson>(await store('get', 'housing', '--json')).version, 3);
    const again = await store('rm', 'housing/3', '--json');
    exits(t, again, 0);
    t.match(parse<VersionJson>(again), { name: 'housing', version: 3, state: 'deleted', aliases: [] }, 'rm --json: the version, deleted');
    exits(t, await store('restore', 'housing/3'), 0);
    const byAlias = await store('restore', 'housing@production');
    exits(t, byAlias, 2, 'restore takes a version number');
    t.match(byAlias.stderr, /^error: INVALID_ARGUMENT: restore takes a version number/);
  });

  t.test('rm --purge, then gc frees the blobs no other version uses', async (t) => {
    const blobDir = join(storeDir, 'blobs');
    const before = blobFiles(blobDir);
    const v3 = parse<VersionJson>(await store('get', 'housing/3', '--json'));
    const only3 = v3.files.filter((f) => f.path === 'genome.json').map((f) => f.sha256);
    t.ok(before.includes(only3[0]!), "version 3's genome.json is a blob");

    const purge = await store('rm', 'housing/3', '--purge');
    exits(t, purge, 0);
    t.equal(purge.stdout, 'purged housing/3; genome store gc frees the blobs no other version uses\n');
    exits(t, await store('get', 'housing/3', '--include-deleted'), 4, 'a purged version is gone');
    t.same(blobFiles(blobDir), before, 'the blobs stay until gc');

    const young = parse<{ removedBlobs: number; keptYoungBlobs: number }>(await store('gc', '--json'));
    t.equal(young.removedBlobs, 0, 'the default grace period (1h) keeps a young unreferenced blob');
    t.equal(young.keptYoungBlobs, 1);

    const dry = await store('gc', '--grace', '0', '--dry-run');
    exits(t, dry, 0);
    t.match(dry.stdout, /^dry run: would remove 1 unreferenced blob \(2\.\d KiB\)\nkept \d+ referenced blobs\n$/);
    t.same(blobFiles(blobDir), before, 'a dry run removes nothing');

    const gc = parse<{ referencedBlobs: number; removedBlobs: number; removedBytes: number; purgedVersions: unknown[] }>(await store('gc', '--grace', '0', '--json'));
    t.equal(gc.removedBlobs, 1);
    t.ok(gc.removedBytes > 1000);
    t.same(blobFiles(blobDir), before.filter((b) => b !== only3[0]), "exactly version 3's own blob is gone");
    t.equal(gc.referencedBlobs, before.length - 1);
    exits(t, await store('download', 'housing/2', join(dir, 'after-gc')), 0, 'the other versions still download');

    // rm --purge of a ready version soft-deletes it first; --purge-deleted-older-than purges old soft-deleted ones.
    exits(t, await store('save', p3, '--name', 'scratch', '--quiet'), 0);
    exits(t, await store('rm', 'scratch', '--purge'), 0);
    exits(t, await store('save', p3, '--name', 'scratch', '--quiet'), 0);
    exits(t, await store('rm', 'scratch/2'), 0);
    const old = parse<{ purgedVersions: { name: string; version: number }[] }>(await store('gc', '--purge-deleted-older-than', '0', '--grace', '0', '--json'));
    t.same(old.purgedVersions, [{ name: 'scratch', version: 2 }]);
  });

  t.test('download: the files, verified; --json; a non-empty target is refused', async (t) => {
    const target = join(dir, 'dl');
    const r = await store('download', 'housing@production', target);
    exits(t, r, 0);
    t.match(r.stdout, /^downloaded housing\/1 to .*dl \(4 files, \d+ KiB, verified against their SHA-256\)\n$/);
    t.same(fileHashes(target), fileHashes(p1), 'the same bytes as the package saved');
    const j = await store('download', 'housing/2', join(dir, 'dl2'), '--json');
    exits(t, j, 0);
    const out = parse<{ dir: string; version: VersionJson }>(j);
    t.equal(out.dir, join(dir, 'dl2'));
    t.equal(out.version.version, 2);
    t.same(fileHashes(out.dir), fileHashes(p2));
    const full = await store('download', 'housing/2', target);
    exits(t, full, 2, 'into a non-empty directory');
    t.match(full.stderr, /is not empty: give an absent or empty directory/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    exits(t, await store('download', 'housing/2', file), 2, 'onto a file');
  });

  t.test('lineage of a version and of a run', async (t) => {
    const v = await store('lineage', 'housing/2');
    exits(t, v, 0);
    t.match(v.stdout, /^housing\/2\nproduced by run run-7 of pipeline train-housing, stage train\n/);
    const run = parse<{ runId: string; produced: unknown[]; consumed: unknown[] }>(await store('lineage', '--run', 'run-7', '--json'));
    t.same(run, { runId: 'run-7', produced: [{ name: 'housing', version: 2, stage: 'train' }], consumed: [] });
    exits(t, await store('lineage', '--run', 'no-such-run'), 4);
    exits(t, await store('lineage'), 2, 'neither a version nor --run');
  });

  t.test('GENOME_STORE_DIR names the store', async (t) => {
    const r = await genome(['store', 'list', '--json'], { env: { GENOME_STORE_DIR: storeDir } });
    exits(t, r, 0);
    t.same(parse<Page>(r).models!.map((m) => m.name), ['fraud', 'housing', 'scratch']);
    const flagWins = await genomeInProcess(['store', 'list', '--store-dir', join(dir, 'empty-store')], { env: { GENOME_STORE_DIR: storeDir } });
    t.equal(flagWins.stdout, 'no models\n', 'the flag wins over the environment');
    const after = await genomeInProcess(['store', 'list', '--json', '--store-dir', storeDir]);
    t.equal(parse<Page>(after).models!.length, 3, 'store flags go after the subcommand too');
  });

  t.test('errors: one line, the exit code of the error, nothing on stdout', async (t) => {
    const cases: [string[], number, RegExp][] = [
      [['get', 'housing/x'], 2, /^error: INVALID_ARGUMENT: Invalid version reference "housing\/x"/],
      [['get', 'housing/2@prod'], 2, /^error: INVALID_ARGUMENT: /],
      [['get', 'nope'], 4, /^error: NOT_FOUND: No model "nope"/],
      [['get', 'housing/99'], 4, /^error: NOT_FOUND: /],
      [['get', 'housing@nope'], 4, /^error: NOT_FOUND: /],
      [['list', 'nope'], 4, /^error: NOT_FOUND: /],
      [['rm', 'nope/1'], 4, /^error: NOT_FOUND: /],
      [['search', '--filter', 'metrics.rmse <'], 2, /^error: INVALID_ARGUMENT: Invalid filter: .* at position 15/],
      [['search', '--filter', "colour = 'red'"], 2, /^error: INVALID_ARGUMENT: .*unknown field "colour"/],
      [['search', '--filter', "name = 'a' OR name = 'b'"], 2, /^error: INVALID_ARGUMENT: Invalid filter/],
      [['search', '--order-by', 'version sideways'], 2, /^error: option '--order-by <field \[asc\|desc\]>' argument 'version sideways' is invalid/],
      [['list', '--page-token', '!!'], 2, /^error: INVALID_ARGUMENT: Invalid listModels page token/],
      [['list', '--page-size', '0'], 2, /^error: option '--page-size <n>' argument '0' is invalid/],
      [['list', '--page-size', '5000'], 2, /^error: INVALID_ARGUMENT: /],
      [['list', 'housing', '--prefix', 'h'], 2, /^error: --prefix lists models/],
      [['save', '--name', 'x', '/nonexistent/pkg'], 2, /^error: INVALID_PACKAGE: /],
      [['save', 'p1'], 2, /^error: required option '--name <canonicalName>' not specified/],
      [['save', 'p1', '--name', 'x', '--tag', 'novalue'], 2, /^error: option '--tag <key=value>' argument 'novalue' is invalid\. expected key=value/],
      [['save', 'p1', '--name', 'x', '--tag', '=v'], 2, /expected key=value/],
      [['save', 'p1', '--name', 'x', '--metric', 'rmse=abc'], 2, /metric "rmse": expected a finite number/],
      [['save', 'p1', '--name', 'bad name'], 2, /^error: INVALID_ARGUMENT: /],
      [['save', 'p1', '--name', 'x', '--tag', 'bad key=1'], 2, /^error: INVALID_ARGUMENT: /],
      [['gc', '--grace', '5'], 2, /argument '5' is invalid\. expected a duration/],
      [['restore', 'housing/1'], 0, /^$/],
      [['frobnicate'], 2, /^error: unknown command 'frobnicate'/],
    ];
    for (const [args, code, stderr] of cases) {
      // Relative package paths in the cases are the scratch packages.
      const r = await store(...args.map((a) => (a === 'p1' ? p1 : a)));
      exits(t, r, code, args.join(' '));
      t.match(r.stderr, stderr, args.join(' '));
      t.notMatch(r.stderr, STACK, 'no stack trace');
      if (/^error: [A-Z_]+: /.test(r.stderr)) t.equal(r.stderr.split('\n').length, 2, 'an error of the store: one line, no usage hint');
      if (code !== 0) t.equal(r.stdout, '', 'nothing on stdout');
    }
    const badBackend = await genome(['store', '--store-dir', storeDir, '--store-metadata', 'mysql://x', 'list']);
    exits(t, badBackend, 2, 'an unsupported metadata URL');
    t.match(badBackend.stderr, /^error: INVALID_ARGUMENT: Unsupported metadata backend URL/);
    const badBlobs = await genomeInProcess(['store', '--store-dir', storeDir, '--store-blobs', 's3://bucket/p?secretAccessKey=x', 'list']);
    exits(t, badBlobs, 2, 'a credential in the S3 URL is refused');
    t.notMatch(badBlobs.stderr, /secretAccessKey=x/, 'and the URL is not repeated');
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'genome.json'), '{"schemaVersion": "genome.package/v1"}');
    const invalid = await store('save', broken, '--name', 'broken');
    exits(t, invalid, 2, 'an invalid manifest');
    t.match(invalid.stderr, /^error: INVALID_PACKAGE: /);
  });

  t.test('--help of every subcommand', async (t) => {
    const root = await genome(['--help']);
    t.match(root.stdout, /\n {2}store /, 'genome --help lists store');
    t.match(root.stdout, /\n {2}4 {2}NOT_FOUND: no such model.*\(store\), no such run/, 'and exit code 4');
    const group = await genomeInProcess(['store', '--help']);
    exits(t, group, 0, 'store --help');
    for (const c of ['save', 'get', 'list', 'search', 'alias', 'rm', 'restore', 'gc', 'download', 'lineage']) t.match(group.stdout, new RegExp(`\\n {2}${c}[ |]`), `lists ${c}`);
    t.match(group.stdout, /GENOME_STORE_DIR/);
    t.match(group.stdout, /GENOME_STORE_METADATA/);
    t.match(group.stdout, /GENOME_STORE_BLOBS/);
    t.match(group.stdout, /Exit codes: 0 success/);
    const subs = [['save'], ['get'], ['list'], ['search'], ['alias'], ['alias', 'set'], ['alias', 'rm'], ['alias', 'list'], ['rm'], ['restore'], ['gc'], ['download'], ['lineage']];
    for (const c of subs) {
      const h = await genomeInProcess(['store', ...c, '--help']);
      exits(t, h, 0, `store ${c.join(' ')} --help`);
      t.match(h.stdout, new RegExp(`^Usage: genome store ${c.join(' ')}(\\|\\w+)? \\[options\\]`), `store ${c.join(' ')} usage`);
      t.match(h.stdout, /\nExamples:\n {2}genome store /, `store ${c.join(' ')} --help has examples`);
      t.match(h.stdout, /genome store --help\n+$/, 'and points at the store flags');
      t.equal(h.stderr, '');
    }
    const search = await genomeInProcess(['store', 'search', '--help']);
    t.match(search.stdout, /Fields: name, version, state, alias, /);
    const bare = await genomeInProcess(['store']);
    exits(t, bare, 2, 'store without a subcommand: help on stderr');
    t.match(bare.stderr, /Usage: genome store/);
  });
});
