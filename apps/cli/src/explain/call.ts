/**
 * Sends one ExplainRequest: a unary Explain for up to `chunkSize` rows, else ExplainStream with `chunk_size`,
 * reporting progress as the server's Progress messages arrive and joining the partial results in row order.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { explain } from '@genome/proto';
import { ExplainerClient } from '../clients.js';
import type { Connection } from '../connection.js';
import type { ProgressSink } from '../progress.js';
import { callError, unary } from '../rpc.js';
import { joinResults, resultOf, type ExplainResult } from './result.js';

export interface CallPlan {
  request: explain.ExplainRequest;
  rows: number;
  chunkSize: number;
  progress: ProgressSink;
}

/** True when the rows go through ExplainStream. */
export const streams = (rows: number, chunkSize: number): boolean => rows > chunkSize;

export async function explainRows(conn: Connection, plan: CallPlan): Promise<ExplainResult> {
  const client = conn.client(ExplainerClient);
  if (!streams(plan.rows, plan.chunkSize)) {
    const res = await unary<explain.ExplainResponse>(conn, (md, o, cb) => client.explain(plan.request, md, o, cb));
    return resultOf(res);
  }
  const parts: { rowOffset: number; result: ExplainResult }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.explainStream({ request: plan.request, chunkSize: plan.chunkSize }, conn.metadata(), conn.callOptions());
      call.on('data', (m: explain.ExplainStreamResponse) => {
        try {
          if (m.result) parts.push({ rowOffset: m.rowOffset, result: resultOf(m.result) });
          if (m.progress) plan.progress.update(m.progress.rowsDone, m.progress.rowsTotal || plan.rows);
        } catch (err) {
          call.cancel();
          reject(err);
        }
      });
      call.on('error', (err: ServiceError) => reject(callError(err, conn)));
      call.on('end', () => resolve());
    });
  } finally {
    plan.progress.stop();
  }
  return joinResults(parts, plan.rows);
}
