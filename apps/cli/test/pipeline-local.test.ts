// `genome pipeline` without a server: run FILE --step NAME (one step here, with the sequencer's environment, the
// parameters of the file and --param overrides, exit code of the step), export --format argo (a Workflow, a
// CronWorkflow, valid against Argo's own JSON Schema), the file's validation, and --help. In process, except one run
// of the real executable (the step's exit code as the process's).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t, { type Test } from 'tap';
import { parse as parseYaml } from 'yaml';
import { readFixtureJson } from '../../../tools/fixtures.js';
import { exits, STACK } from './helpers/assertions.js';
import { genome, genomeInProcess } from './helpers/genome.js';
import { nodeStep, pipelineDoc, PRINT_ENV, scratchDir, writePipeline } from './helpers/platform.js';
import { closedPort } from './helpers/ports.js';

// Argo's own JSON Schema (its root is a oneOf over Workflow, CronWorkflow, WorkflowTemplate, ...), as libs/sequencer's tests use it.
const schema = readFixtureJson<Record<string, unknown>>('schemas', 'argo-workflows.schema.json');
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);
const validateAs = (kind: string) => ajv.compile({ $ref: `${String(schema.$id)}#/definitions/io.argoproj.workflow.v1alpha1.${kind}` });

function checkArgo(t: Test, doc: unknown, kind: 'Workflow' | 'CronWorkflow'): void {
  const ok = validate(doc);
  t.ok(ok, `valid against Argo's schema${ok ? '' : `: ${ajv.errorsText(validate.errors)}`}`);
  const v = validateAs(kind);
  t.ok(v(doc), `a valid ${kind}${v.errors ? `: ${ajv.errorsText(v.errors)}` : ''}`);
}

type Env = Record<string, string | null>;

t.test('genome pipeline run FILE --step NAME runs one step here', async (t) => {
  const dir = scratchDir(t);
  const file = writePipeline(
    dir,
    'steps.json',
    pipelineDoc('local-steps', [
      nodeStep('prepare', PRINT_ENV, { parameters: { rows: 10, source: 'a.csv' } }),
      [nodeStep('train', 'console.log("training"); console.error("to stderr"); process.exit(7)'), nodeStep('cwd', 'console.log(process.cwd())')],
      nodeStep('slow', 'setTimeout(() => {}, 60000)', { timeout: '1s' }),
      { stepName: 'image-only', stepType: 'train', image: 'genome/train:1' },
    ]),
  );
  // The server is never called: a closed port as its address changes nothing.
  const closed = `127.0.0.1:${await closedPort()}`;
  const local = (...args: string[]) => genomeInProcess(['pipeline', 'run', file, '--address', closed, ...args]);

  t.test('the step environment, TRANSFORM_PARAMETERS from the file; exit 0', async (t) => {
    const r = await local('--step', 'prepare');
    exits(t, r, 0);
    const env = JSON.parse(r.stdout) as Env;
    t.match(env, { APPLICATION: 'cli-tests', PIPELINE_NAME: 'local-steps', STEP_NAME: 'prepare', STEP_TYPE: 'script', GENOME_STORE_DIR: null });
    t.match(env.PIPELINE_RUNID, /^local-[a-z0-9]+-[0-9a-f]{6}$/);
    t.same(JSON.parse(env.TRANSFORM_PARAMETERS!), { rows: 10, source: 'a.csv' });
    t.match(r.stderr, /^step prepare \(local-[a-z0-9-]+\): succeeded \(exit 0, [^)]+\)\n$/);
  });

  t.test('--param overrides, --run-id, the store from --store-dir or GENOME_STORE_*', async (t) => {
    const r = await local('--step', 'prepare', '--param', 'rows=500', '--param', 'note=hello world', '--run-id', 'my-local-run', '--store-dir', join(dir, 'store'));
    exits(t, r, 0);
    const env = JSON.parse(r.stdout) as Env;
    t.same(JSON.parse(env.TRANSFORM_PARAMETERS!), { rows: 500, source: 'a.csv', note: 'hello world' }, 'merged over the file\'s, JSON values parsed');
    t.equal(env.PIPELINE_RUNID, 'my-local-run');
    t.equal(env.GENOME_STORE_DIR, join(dir, 'store'));
    const fromEnv = await genomeInProcess(['pipeline', 'run', file, '--step', 'prepare'], { env: { GENOME_STORE_DIR: '/srv/store' } });
    t.equal((JSON.parse(fromEnv.stdout) as Env).GENOME_STORE_DIR, '/srv/store');
    exits(t, await local('--step', 'prepare', '--run-id', 'Not_A_Label'), 2, 'a run id that is not a DNS label');
    exits(t, await local('--step', 'prepare', '--param', 'novalue'), 2, 'a --param without =');
  });

  t.test('a failing step: its output streamed, its exit code; the real executable exits with it', async (t) => {
    const r = await local('--step', 'train');
    t.equal(r.code, 7, 'the step\'s exit code');
    t.equal(r.stdout, 'training\nto stderr\n', 'stdout and stderr of the step, on stdout');
    t.match(r.stderr, /^step train \(local-[a-z0-9-]+\): failed \(Error: the command exited with code 7, exit 7, [^)]+\)\n$/);
    const child = await genome(['pipeline', 'run', file, '--step', 'train']);
    t.equal(child.code, 7, 'genome exits 7');
    t.notMatch(child.stderr, STACK);
    const cwd = await local('--step', 'cwd');
    exits(t, cwd, 0);
    t.equal(cwd.stdout.trim(), process.cwd(), 'the step runs in the current directory');
  });

  t.test('the timeout is enforced; a step without command, an unknown step and a bad mix of flags are usage errors', async (t) => {
    const slow = await local('--step', 'slow');
    t.not(slow.code, 0);
    t.match(slow.stderr, /failed \(DeadlineExceeded: /);
    const noCommand = await local('--step', 'image-only');
    exits(t, noCommand, 2);
    t.match(noCommand.stderr, /step image-only has no "command"/);
    const unknown = await local('--step', 'nope');
    exits(t, unknown, 2);
    t.match(unknown.stderr, /has no step "nope"; its steps: prepare, train, cwd, slow, image-only/);
    exits(t, await local('--step', 'prepare', '--wait'), 2, '--step with --wait');
    exits(t, await local('--param', 'a=1'), 2, '--param without --step');
    exits(t, await local('--store-dir', dir), 2, '--store-dir without --step');
  });
});

t.test('genome pipeline export --format argo', async (t) => {
  const dir = scratchDir(t);
  const steps = [
    nodeStep('fetch', '1', { image: 'genome/fetch:1', parameters: { rows: 10 }, timeout: '360s', retry: '3' }),
    [nodeStep('train_a', '1', { image: 'genome/train:1' }), nodeStep('train-b', '1')],
  ];
  const once = writePipeline(dir, 'once.json', pipelineDoc('Train_and.Explain', steps));
  const hourly = writePipeline(dir, 'hourly.json', pipelineDoc('hourly', steps, { schedule: '1h' }));
  const nightly = writePipeline(dir, 'nightly.json', pipelineDoc('nightly', steps, { schedule: '0 3 * * *' }));

  t.test('a pipeline without schedule is a Workflow, YAML by default', async (t) => {
    const r = await genomeInProcess(['pipeline', 'export', once, '--format', 'argo', '--image', 'genome/runner:1', '--namespace', 'ml', '--service-account', 'steps']);
    exits(t, r, 0);
    t.match(r.stdout, /^apiVersion: argoproj\.io\/v1alpha1\nkind: Workflow\n/);
    const wf = parseYaml(r.stdout) as any;
    checkArgo(t, wf, 'Workflow');
    t.match(wf.metadata, { generateName: 'train-and-explain-', namespace: 'ml' });
    t.equal(wf.spec.serviceAccountName, 'steps');
    t.same(wf.spec.templates[0].steps, [[{ name: 'fetch', template: 'fetch' }], [{ name: 'train-a', template: 'train-a' }, { name: 'train-b', template: 'train-b' }]]);
    t.match(wf.spec.templates[1], { timeout: '360s', retryStrategy: { limit: '3' }, container: { image: 'genome/fetch:1' } });
    t.equal(wf.spec.templates[3].container.image, 'genome/runner:1', '--image for the steps without one');

    const noImage = await genomeInProcess(['pipeline', 'export', once]);
    exits(t, noImage, 2, 'a step without image and no --image');
    t.match(noImage.stderr, /step "train-b" has no image/);
  });

  t.test('a scheduled pipeline is a CronWorkflow; JSON with --json or -o x.json', async (t) => {
    const r = await genomeInProcess(['pipeline', 'export', hourly, '--image', 'x', '--json']);
    exits(t, r, 0);
    const cron = JSON.parse(r.stdout) as any;
    checkArgo(t, cron, 'CronWorkflow');
    t.match(cron, { kind: 'CronWorkflow', metadata: { name: 'hourly' }, spec: { schedules: ['@every 3600s'], concurrencyPolicy: 'Forbid' } });

    const out = join(dir, 'nightly.json.out.json');
    const o = await genomeInProcess(['pipeline', 'export', nightly, '--image', 'x', '--timezone', 'Europe/Paris', '--overlap', 'allow', '-o', out]);
    exits(t, o, 0);
    t.equal(o.stdout, '');
    t.equal(o.stderr, `wrote CronWorkflow ${out}\n`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as any;
    checkArgo(t, doc, 'CronWorkflow');
    t.match(doc.spec, { schedules: ['0 3 * * *'], timezone: 'Europe/Paris', concurrencyPolicy: 'Allow' });
    const yamlOut = join(dir, 'cron.yaml');
    exits(t, await genomeInProcess(['pipeline', 'export', nightly, '--image', 'x', '-o', yamlOut]), 0);
    checkArgo(t, parseYaml(readFileSync(yamlOut, 'utf8')), 'CronWorkflow');
    exits(t, await genomeInProcess(['pipeline', 'export', nightly, '--format', 'tekton']), 2, 'an unknown format');
  });
});

t.test('an invalid pipeline file is refused locally, naming the field paths', async (t) => {
  const dir = scratchDir(t);
  const bad = writePipeline(dir, 'bad.json', { pipelineName: 'x', application: 'a', steps: [{ stepName: 'a b', stepType: 't', command: ['x'] }], extra: 1 });
  for (const sub of [['run', bad, '--step', 'a'], ['export', bad], ['create', bad]]) {
    const r = await genomeInProcess(['pipeline', ...sub, '--address', `127.0.0.1:${await closedPort()}`]);
    exits(t, r, 2, sub[0]);
    t.match(r.stderr, /^error: INVALID_ARGUMENT: .*bad\.json is not a valid pipeline: /);
    t.match(r.stderr, /canonicalName: is required/);
    t.match(r.stderr, /steps\[0\]\.stepName: /);
    t.match(r.stderr, /extra: /);
  }
});

t.test('--help: the subcommands, the server address, exit codes, examples', async (t) => {
  const group = await genomeInProcess(['pipeline', '--help']);
  exits(t, group, 0);
  for (const sub of ['run', 'create', 'list', 'status', 'logs', 'cancel', 'delete', 'export']) t.match(group.stdout, new RegExp(`\\n  ${sub}\\b`), sub);
  t.match(group.stdout, /GENOME_PLATFORM_ADDR; else 127\.0\.0\.1:7070/);
  t.match(group.stdout, /Exit codes:\n {2}0 /);
  t.match(group.stdout, /Examples:\n/);
  for (const sub of ['run', 'create', 'list', 'status', 'logs', 'cancel', 'delete', 'export']) {
    const r = await genomeInProcess(['pipeline', sub, '--help']);
    exits(t, r, 0, `${sub} --help`);
    t.match(r.stdout, /\nExamples:\n {2}genome pipeline /, `${sub} --help has examples`);
    t.match(r.stdout, /--json/, `${sub} has --json`);
  }
  const root = await genomeInProcess(['--help']);
  t.match(root.stdout, /\n {2}pipeline /, 'genome --help lists pipeline');
});
