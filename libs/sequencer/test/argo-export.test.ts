import t, { type Test } from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFixtureJson } from '../../../tools/fixtures.js';
import { parsePipeline, toArgo } from '@genome/sequencer';

// Argo's own JSON Schema (its root is a oneOf over Workflow, CronWorkflow, WorkflowTemplate, ...).
const schema = readFixtureJson<Record<string, unknown>>('schemas', 'argo-workflows.schema.json');
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);
const validateAs = (kind: string) => ajv.compile({ $ref: `${String(schema.$id)}#/definitions/io.argoproj.workflow.v1alpha1.${kind}` });

function check(t: Test, doc: unknown, kind: 'Workflow' | 'CronWorkflow'): void {
  const ok = validate(doc);
  t.ok(ok, `valid against Argo's schema${ok ? '' : `: ${ajv.errorsText(validate.errors)}`}`);
  const v = validateAs(kind);
  t.ok(v(doc), `a valid ${kind}${v.errors ? `: ${ajv.errorsText(v.errors)}` : ''}`);
}

const seed = parsePipeline({
  pipelineName: 'Train_and.Explain',
  canonicalName: 'genome.demo',
  application: 'demo',
  steps: [
    { stepName: 'fetch', stepType: 'transform', image: 'genome/fetch:1', parameters: { rows: 10 }, timeout: '360s', retry: '3' },
    [
      { stepName: 'train_a', stepType: 'train', image: 'genome/train:1', command: ['python', 'train.py', '--model', 'a'] },
      { stepName: 'train.a', stepType: 'train', image: 'genome/train:1', timeout: '2d' },
    ],
    { stepName: 'explain', stepType: 'explain', command: ['node', 'explain.js'] },
  ],
});

t.test('a pipeline without schedule is a Workflow: steps and parallel groups, retries, timeouts, environment', async (t) => {
  const wf = toArgo(seed, { defaultImage: 'genome/runner:1', namespace: 'ml', storeEnv: { GENOME_STORE_METADATA: 'postgres://db/store' } }) as any;
  check(t, wf, 'Workflow');
  t.equal(wf.kind, 'Workflow');
  t.match(wf.metadata, { generateName: 'train-and-explain-', namespace: 'ml', annotations: { 'genome.ai/pipeline-name': 'Train_and.Explain' } });
  t.equal(wf.spec.entrypoint, 'pipeline');
  const [main, ...steps] = wf.spec.templates;
  t.same(main.steps, [
    [{ name: 'fetch', template: 'fetch' }],
    [
      { name: 'train-a', template: 'train-a' },
      { name: 'train-a-2', template: 'train-a-2' },
    ],
    [{ name: 'explain', template: 'explain' }],
  ], 'outer list sequential, inner lists parallel, names made unique Kubernetes names');
  t.match(steps[0], {
    name: 'fetch',
    timeout: '360s',
    retryStrategy: { limit: '3', retryPolicy: 'Always', backoff: { duration: '1s', factor: '2', cap: '60s' } },
    container: { image: 'genome/fetch:1' },
  });
  const env = Object.fromEntries(steps[0].container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  t.same(env, {
    APPLICATION: 'demo',
    PIPELINE_RUNID: '{{workflow.name}}',
    PIPELINE_NAME: 'Train_and.Explain',
    CANONICAL_NAME: 'genome.demo',
    STEP_NAME: 'fetch',
    STEP_TYPE: 'transform',
    TRANSFORM_PARAMETERS: '{"rows":10}',
    GENOME_STORE_METADATA: 'postgres://db/store',
  });
  t.same(steps[1].container.command, ['python', 'train.py', '--model', 'a']);
  t.equal(steps[2].timeout, '172800s', 'days as seconds: Go durations have no d');
  t.notOk('retryStrategy' in steps[1]);
  t.equal(steps[3].container.image, 'genome/runner:1', 'the default image');
});

t.test('a scheduled pipeline is a CronWorkflow', async (t) => {
  const every = toArgo({ ...seed, schedule: '6h' }, { defaultImage: 'genome/runner:1' }) as any;
  check(t, every, 'CronWorkflow');
  t.match(every, { kind: 'CronWorkflow', metadata: { name: 'train-and-explain' }, spec: { schedules: ['@every 21600s'], concurrencyPolicy: 'Forbid' } });
  t.notOk('timezone' in every.spec);
  const cron = toArgo({ ...seed, schedule: '0 3 * * *' }, { defaultImage: 'x', timezone: 'Europe/Paris', overlap: 'allow' }) as any;
  check(t, cron, 'CronWorkflow');
  t.match(cron.spec, { schedules: ['0 3 * * *'], timezone: 'Europe/Paris', concurrencyPolicy: 'Allow' });
  t.equal(cron.spec.workflowSpec.entrypoint, 'pipeline');
});

t.test('a step without an image needs a default image', async (t) => {
  t.throws(() => toArgo(seed), { code: 'INVALID_ARGUMENT', message: /step "explain" has no image.*defaultImage/ });
});

t.test('the schema check has teeth', async (t) => {
  const wf = toArgo(seed, { defaultImage: 'x' }) as any;
  wf.spec.templates[1].retryStrategy.backoff.duration = 5;
  t.notOk(validate(wf), 'a number where Argo wants a string is rejected');
  const bad = toArgo(seed, { defaultImage: 'x' }) as any;
  bad.kind = 'Workflowz';
  t.notOk(validate(bad));
});
