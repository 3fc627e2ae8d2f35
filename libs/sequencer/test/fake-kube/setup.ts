/** Shared setup of the Kubernetes executor tests: a fake API server and an executor on a real client pointing at it. */
import type { Test } from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { stepEnvironment, type StepLaunch } from '@genome/sequencer';
import { KubernetesExecutor, type KubernetesExecutorOptions } from '@genome/sequencer/kubernetes';
import { FakeKube, type FakeKubeOptions } from './index.js';

export const NS = 'genome-test';

export async function setup(
  t: Test,
  fakeOptions: FakeKubeOptions = {},
  executorOptions: KubernetesExecutorOptions = {},
): Promise<{ fake: FakeKube; ex: KubernetesExecutor; kc: KubeConfig }> {
  const fake = await FakeKube.start({ namespaces: ['default', NS], secondMs: 20, bookmarkIntervalMs: 50, ...fakeOptions });
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig({ namespace: NS }));
  const ex = await KubernetesExecutor.create({ kubeConfig: kc, watchBackoffMs: { initial: 10, max: 100 }, ...executorOptions });
  t.teardown(async () => {
    await ex.close();
    await fake.stop();
  });
  return { fake, ex, kc };
}

export function launch(over: { image?: string; stepName?: string; attempt?: number; timeoutMs?: number; runId?: string; command?: string[] } = {}): StepLaunch {
  const base = {
    runId: over.runId ?? 'run-20261206-abc123',
    pipelineName: 'Churn Model',
    canonicalName: 'churn',
    application: 'retail',
    step: {
      stepName: over.stepName ?? 'train',
      stepType: 'transform',
      parameters: { depth: 4 },
      image: over.image ?? 'python:3.12',
      command: over.command ?? ['python', '-c', 'print("hi")'],
    },
    attempt: over.attempt ?? 1,
    ...(over.timeoutMs !== undefined ? { timeoutMs: over.timeoutMs } : {}),
  };
  return { ...base, env: stepEnvironment(base, { GENOME_STORE_DIR: '/store' }) };
}
