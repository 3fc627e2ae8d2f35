/** A remote linear model (fake OIP server + background CSV) and a cancellable `sleep` method for server tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPLANATION_SCHEMA, type Explanation } from '@genome/model-format';
import type { ExplainMethod, ModelSpec } from '../../src/index.js';
import { startFakeOip, type FakeOip } from './oip-server.js';

export const LINEAR = { name: 'linear', weights: [2, -1, 0.5], bias: 3 };
export const FEATURES = ['a', 'b', 'c'];

export interface LinearSetup {
  oip: FakeOip;
  spec: ModelSpec;
  close(): Promise<void>;
}

export async function linearSetup(name = 'linear'): Promise<LinearSetup> {
  const oip = await startFakeOip(LINEAR);
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-linear-'));
  const csv = join(dir, 'bg.csv');
  writeFileSync(csv, `${FEATURES.join(',')}\n0,0,0\n1,2,3\n4,-2,1\n2,5,-3\n`);
  return {
    oip,
    spec: { kind: 'remote', name, remoteName: LINEAR.name, host: `127.0.0.1:${oip.grpcPort}`, protocol: 'grpc-v2', backgroundPath: csv },
    async close() {
      await oip.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Events of the sleep method, so tests can see that work really stopped. */
export const sleepLog: { started: number; finished: number; aborted: number } = { started: 0, finished: 0, aborted: 0 };

/** Waits `ms` per chunk (default 10 s) or until the call is cancelled; returns zero attributions. */
export const sleepMethod: ExplainMethod = {
  name: 'sleep',
  description: 'test method: waits, honouring cancellation',
  inputs: ['tabular'],
  parameters: ['ms'],
  unsupportedReason: () => null,
  explain(model, data, params, ctx) {
    sleepLog.started++;
    const ms = typeof params.ms === 'number' ? params.ms : 10_000;
    return new Promise<Explanation>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        sleepLog.aborted++;
        reject(ctx.signal.reason);
      };
      const timer = setTimeout(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        sleepLog.finished++;
        const d = model.description;
        const n = data.kind === 'tabular' ? data.nRows : 1;
        resolve({
          schema: EXPLANATION_SCHEMA,
          method: 'sleep',
          values: Array.from({ length: n }, () => d.featureNames.map(() => d.outputNames.map(() => 0))),
          baseValues: Array.from({ length: n }, () => d.outputNames.map(() => 0)),
          featureNames: d.featureNames,
          outputNames: d.outputNames,
          outputSpace: d.outputSpace,
          parameters: { ms },
          timings: { totalMs: ms },
        });
      }, ms);
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  },
};
