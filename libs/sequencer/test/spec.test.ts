import t from 'tap';
import fc from 'fast-check';
import {
  parsePipeline,
  validatePipeline,
  stepGroups,
  stepRetries,
  stepTimeoutMs,
  onlyStep,
  parseDuration,
  formatDuration,
  SequencerError,
  LIMITS,
} from '@genome/sequencer';

const seed = {
  pipelineName: 'train-and-explain',
  canonicalName: 'ml.pipelines.train-and-explain',
  application: 'genome-demo',
  schedule: '6h',
  steps: [
    { stepName: 'fetch', stepType: 'transform', parameters: { source: 's3://bucket/x.csv' }, image: 'genome/fetch:1', timeout: '360s', retry: '3' },
    [
      { stepName: 'train-xgb', stepType: 'train', parameters: { depth: 6 }, datasets: ['x'], image: 'genome/train:1' },
      { stepName: 'train-lgbm', stepType: 'train', image: 'genome/train:1', timeout: '1h' },
    ],
    { stepName: 'explain', stepType: 'explain', command: ['node', 'explain.js'] },
  ],
};

function violations(doc: unknown): Array<{ path: string; message: string }> {
  try {
    parsePipeline(doc);
  } catch (e) {
    if (e instanceof SequencerError && e.code === 'INVALID_ARGUMENT') return e.violations ?? [{ path: '?', message: e.message }];
    throw e;
  }
  return [];
}

t.test('the seed pipeline parses, from an object and from JSON text', async (t) => {
  const p = parsePipeline(seed);
  t.same(p, seed);
  t.same(parsePipeline(JSON.stringify(seed)), seed);
  t.not(p.steps, seed.steps, 'a copy, not the caller\'s objects');
  t.same(stepGroups(p).map((g) => g.map((s) => s.stepName)), [['fetch'], ['train-xgb', 'train-lgbm'], ['explain']]);
  t.equal(stepRetries(p.steps[0] as never), 3);
  t.equal(stepTimeoutMs(p.steps[0] as never), 360_000);
  t.equal(stepTimeoutMs({ stepName: 'a', stepType: 'b' }), undefined);
  t.equal(stepRetries({ stepName: 'a', stepType: 'b' }), 0);
});

t.test('every problem is named by its field path', async (t) => {
  const bad = {
    pipelineName: '',
    application: 7,
    schedule: 'every day',
    extra: true,
    steps: [
      { stepName: 'a', stepType: 't', timeout: '5x', retry: 3 },
      [{ stepName: 'b', stepType: 't', timeout: '0s' }, { stepType: 't' }, [{ stepName: 'n', stepType: 't' }]],
      { stepName: 'a', stepType: 't', retry: 'three', stepname: 'typo' },
      'step',
      [],
    ],
  };
  const v = violations(bad);
  const paths = v.map((x) => x.path).sort();
  t.same(paths, [
    'application',
    'canonicalName',
    'extra',
    'pipelineName',
    'schedule',
    'steps[0].retry',
    'steps[0].timeout',
    'steps[1][0].timeout',
    'steps[1][1].stepName',
    'steps[1][2]',
    'steps[2].retry',
    'steps[2].stepName',
    'steps[2].stepname',
    'steps[3]',
    'steps[4]',
  ].sort());
  const by = (p: string): string => v.filter((x) => x.path === p).map((x) => x.message).join(' | ');
  t.match(by('canonicalName'), /required/);
  t.match(by('extra'), /not a field.*spelling/);
  t.match(by('steps[0].timeout'), /not a duration.*"360s"/);
  t.match(by('steps[0].retry'), /string of an integer.*"3"/);
  t.match(by('steps[1][0].timeout'), /longer than zero/);
  t.match(by('steps[1][2]'), /cannot be nested/);
  t.match(by('steps[2].stepName'), /already the name of steps\[0\].*unique/);
  t.match(by('steps[3]'), /step \(object\) or a parallel group/);
  t.match(by('steps[4]'), /empty parallel group/);
  t.match(by('schedule'), /neither a duration.*nor a valid cron/);
  try {
    parsePipeline(bad);
    t.fail('should throw');
  } catch (e) {
    t.match((e as Error).message, /^invalid pipeline: .*steps\[1\]\[0\]\.timeout: /);
  }
});

t.test('documents that are not objects, bad JSON, missing steps', async (t) => {
  t.same(violations([]).map((x) => x.path), ['']);
  t.same(violations(null).map((x) => x.path), ['']);
  t.throws(() => parsePipeline('{"pipelineName":'), { code: 'INVALID_ARGUMENT', message: /not valid JSON/ });
  t.same(violations({ pipelineName: 'p', canonicalName: 'c', application: 'a', steps: [] }).map((x) => x.path), ['steps']);
  t.same(violations({ pipelineName: 'p', canonicalName: 'c', application: 'a' }).map((x) => x.path), ['steps']);
});

t.test('step names follow the Kubernetes label rules', async (t) => {
  const doc = (stepName: string): unknown => ({ pipelineName: 'p', canonicalName: 'c', application: 'a', steps: [{ stepName, stepType: 't' }] });
  for (const ok of ['a', 'train-xgb', 'Step_1.v2', 'x'.repeat(63)]) t.same(validatePipeline(doc(ok)), [], ok);
  for (const bad of ['', '-a', 'a-', 'a b', 'a/b', '../x', 'x'.repeat(64), 'é']) {
    t.same(validatePipeline(doc(bad)).map((x) => x.path), ['steps[0].stepName'], JSON.stringify(bad));
  }
});

t.test('sizes are bounded', async (t) => {
  const base = { pipelineName: 'p', canonicalName: 'c', application: 'a' };
  const many = Array.from({ length: LIMITS.maxStepElements + 1 }, (_, i) => ({ stepName: `s${i}`, stepType: 't' }));
  t.same(validatePipeline({ ...base, steps: many }).map((x) => x.path), ['steps']);
  const wide = [Array.from({ length: LIMITS.maxGroupSize + 1 }, (_, i) => ({ stepName: `s${i}`, stepType: 't' }))];
  t.same(validatePipeline({ ...base, steps: wide }).map((x) => x.path), ['steps[0]']);
  const big = [{ stepName: 's', stepType: 't', parameters: { blob: 'x'.repeat(LIMITS.maxParametersBytes) } }];
  t.same(validatePipeline({ ...base, steps: big }).map((x) => x.path), ['steps[0].parameters']);
  t.same(validatePipeline({ ...base, steps: [{ stepName: 's', stepType: 't', retry: '21' }] }).map((x) => x.path), ['steps[0].retry']);
  t.same(validatePipeline({ ...base, steps: [{ stepName: 's', stepType: 't', retry: '20' }] }), []);
  t.throws(() => parsePipeline('x'.repeat(LIMITS.maxDocumentBytes + 1)), { code: 'INVALID_ARGUMENT', message: /larger than/ });
});

t.test('durations', async (t) => {
  t.equal(parseDuration('360s'), 360_000);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('1h'), 3_600_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('2d'), 172_800_000);
  for (const bad of ['', '360', '5 m', '-5s', '1.5h', 's', '1y', '0s', '366d']) {
    t.throws(() => parseDuration(bad, 'steps[0].timeout'), { code: 'INVALID_ARGUMENT', message: /^steps\[0\]\.timeout: / }, bad);
  }
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 365 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms),
  );
});

t.test('property: a valid pipeline survives a JSON round trip; a broken step field is reported at its path', async (t) => {
  const step = fc.record(
    {
      stepName: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/),
      stepType: fc.constantFrom('transform', 'train', 'explain'),
      parameters: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean())),
      timeout: fc.constantFrom('360s', '5m', '1h', '1h30m'),
      retry: fc.integer({ min: 0, max: 20 }).map(String),
    },
    { requiredKeys: ['stepName', 'stepType'] },
  );
  const element = fc.oneof(step, fc.array(step, { minLength: 1, maxLength: 4 }));
  const pipeline = fc
    .record({ pipelineName: fc.constant('p'), canonicalName: fc.constant('c'), application: fc.constant('a'), steps: fc.array(element, { minLength: 1, maxLength: 6 }) })
    .map((p) => {
      let i = 0;
      const rename = (s: Record<string, unknown>): Record<string, unknown> => ({ ...s, stepName: `${String(s.stepName)}-${i++}` });
      return { ...p, steps: p.steps.map((e) => (Array.isArray(e) ? e.map(rename) : rename(e))) };
    });
  fc.assert(
    fc.property(pipeline, (p) => {
      const parsed = parsePipeline(JSON.stringify(p));
      return JSON.stringify(parsed) === JSON.stringify(p);
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(pipeline, fc.nat(), fc.constantFrom('timeout', 'retry', 'stepType'), (original, k, field) => {
      const p = structuredClone(original);
      const paths: Array<[string, Record<string, unknown>]> = [];
      p.steps.forEach((e, i) => (Array.isArray(e) ? e.forEach((s, j) => paths.push([`steps[${i}][${j}]`, s])) : paths.push([`steps[${i}]`, e])));
      const [path, s] = paths[k % paths.length]!;
      s[field] = field === 'stepType' ? '' : 'oops';
      return validatePipeline(p).map((x) => x.path).join() === `${path}.${field}`;
    }),
    { numRuns: 200 },
  );
});

t.test('one step of a pipeline, for running it alone', async (t) => {
  const p = parsePipeline(seed);
  t.same(onlyStep(p, 'train-lgbm'), {
    pipelineName: 'train-and-explain',
    canonicalName: 'ml.pipelines.train-and-explain',
    application: 'genome-demo',
    steps: [{ stepName: 'train-lgbm', stepType: 'train', image: 'genome/train:1', timeout: '1h' }],
  });
  t.equal(onlyStep(p, 'nope'), undefined);
  t.same(validatePipeline(onlyStep(p, 'fetch')), []);
});
