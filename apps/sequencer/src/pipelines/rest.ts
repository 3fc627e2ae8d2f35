/**
 * The sequencer over REST, on the seed's paths under /v1.0/genome/compute/sequence:
 *
 *   POST   /v1.0/genome/compute/sequence/run                       start a run now (body: the seed's pipeline JSON; ?runId=)  201
 *   POST   /v1.0/genome/compute/sequence                           create a scheduled pipeline (body with "schedule";
 *                                                                  ?timezone=&overlap=forbid|allow&maxMissedRuns=)             201
 *   GET    /v1.0/genome/compute/sequence                           list scheduled pipelines
 *   GET    /v1.0/genome/compute/sequence/pipelines/{name}          one scheduled pipeline
 *   DELETE /v1.0/genome/compute/sequence/pipelines/{name}          delete it (its runs stay)
 *   GET    /v1.0/genome/compute/sequence/runs                      runs, newest first (?pipelineName=&status=running,failed&pageSize=&pageToken=)
 *   GET    /v1.0/genome/compute/sequence/runs/{runId}              one run's record (steps, attempts, reasons)
 *   POST   /v1.0/genome/compute/sequence/runs/{runId}:cancel       cancel it (body optional: {"message"})
 *   GET    /v1.0/genome/compute/sequence/runs/{runId}/steps/{stepName}/logs   a step's log as text/plain (?attempt=&tailLines=)
 *
 * Records are the library's JSON (RunRecord, ScheduledPipelineRecord). Scopes: pipelines:read, pipelines:write.
 */
import { quote } from '@genome/server-kit';
import type { HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import type { RestCall, RestRoute } from '../hosted.js';
import { READ, WRITE, type PipelineOps } from './operations.js';

export const SEQUENCE_PREFIX = '/v1.0/genome/compute/sequence';

/** An integer query parameter, or undefined when absent. */
function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new PlatformError('INVALID_ARGUMENT', `${name}: must be a non-negative integer, got ${quote(v)}`);
  return Number(v);
}

function strParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : v;
}

/** An optional JSON body: {} when the request has none. */
async function optionalBody(call: RestCall): Promise<Record<string, unknown>> {
  const length = call.req.headers['content-length'];
  if ((length === undefined || length === '0') && call.req.headers['transfer-encoding'] === undefined) return {};
  const body = await call.json();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlatformError('INVALID_ARGUMENT', 'the body must be a JSON object such as {"message": "..."}');
  return body as Record<string, unknown>;
}

export function sequencerRestRoutes(_ctx: HostContext, ops: PipelineOps): RestRoute[] {
  const P = SEQUENCE_PREFIX;
  return [
    {
      method: 'POST',
      path: `${P}/run`,
      rpc: 'RunPipeline',
      scope: WRITE,
      handle: async (c) => ({ status: 201, body: await ops.run(c.principal, await c.json(), strParam(c.query, 'runId')) }),
    },
    {
      method: 'POST',
      path: P,
      rpc: 'CreatePipeline',
      scope: WRITE,
      handle: async (c) => {
        const input = { timezone: strParam(c.query, 'timezone'), overlap: strParam(c.query, 'overlap'), maxMissedRuns: intParam(c.query, 'maxMissedRuns') };
        return { status: 201, body: await ops.create(c.principal, await c.json(), Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))) };
      },
    },
    { method: 'GET', path: P, rpc: 'ListPipelines', scope: READ, handle: async (c) => ({ body: { pipelines: await ops.listPipelines(c.principal) } }) },
    { method: 'GET', path: `${P}/pipelines/{name}`, rpc: 'GetPipeline', scope: READ, handle: async (c) => ({ body: await ops.getPipeline(c.principal, c.params.name!) }) },
    { method: 'DELETE', path: `${P}/pipelines/{name}`, rpc: 'DeletePipeline', scope: WRITE, handle: async (c) => ({ body: await ops.deletePipeline(c.principal, c.params.name!) }) },
    {
      method: 'GET',
      path: `${P}/runs`,
      rpc: 'ListRuns',
      scope: READ,
      handle: async (c) => {
        const status = c.query.getAll('status').flatMap((s) => s.split(','));
        const page = await ops.listRuns(c.principal, {
          ...(strParam(c.query, 'pipelineName') !== undefined ? { pipelineName: strParam(c.query, 'pipelineName')! } : {}),
          status,
          ...(intParam(c.query, 'pageSize') !== undefined ? { pageSize: intParam(c.query, 'pageSize')! } : {}),
          ...(strParam(c.query, 'pageToken') !== undefined ? { pageToken: strParam(c.query, 'pageToken')! } : {}),
        });
        return { body: { runs: page.runs, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) } };
      },
    },
    { method: 'GET', path: `${P}/runs/{runId}`, rpc: 'GetRun', scope: READ, handle: async (c) => ({ body: await ops.getRun(c.principal, c.params.runId!) }) },
    {
      method: 'POST',
      path: `${P}/runs/{runId}:cancel`,
      rpc: 'CancelRun',
      scope: WRITE,
      handle: async (c) => {
        const body = await optionalBody(c);
        if (body.message !== undefined && typeof body.message !== 'string') throw new PlatformError('INVALID_ARGUMENT', 'message: must be a string');
        return { body: await ops.cancel(c.principal, c.params.runId!, body.message as string | undefined) };
      },
    },
    {
      method: 'GET',
      path: `${P}/runs/{runId}/steps/{stepName}/logs`,
      rpc: 'GetStepLogs',
      scope: READ,
      handle: async (c) => {
        const attempt = intParam(c.query, 'attempt');
        const tailLines = intParam(c.query, 'tailLines');
        const logs = await ops.logs(c.principal, c.params.runId!, c.params.stepName!, { ...(attempt !== undefined ? { attempt } : {}), ...(tailLines !== undefined ? { tailLines } : {}) });
        const text = Buffer.from(logs.text);
        c.res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': text.length,
          'x-genome-attempt': String(logs.attempt),
          ...(logs.truncated ? { 'x-genome-truncated': 'true' } : {}),
        });
        c.res.end(text);
        return undefined;
      },
    },
  ];
}
