/**
 * Worker-thread entry of {@link ChartWorker}: draws one chart per message with @genome/viz (building the SVG and,
 * for PNG, rasterising it) and answers with the bytes (transferred) or the error's code and message.
 */
import { parentPort } from 'node:worker_threads';
import { renderChart, type ChartRequest } from '@genome/viz';

interface Job {
  id: number;
  req: ChartRequest;
}

parentPort!.on('message', ({ id, req }: Job) => {
  renderChart(req).then(
    (chart) => parentPort!.postMessage({ id, chart }, [chart.content.buffer as ArrayBuffer]),
    (err: unknown) => {
      const e = err as { code?: unknown; message?: unknown };
      parentPort!.postMessage({ id, error: { code: typeof e?.code === 'string' ? e.code : undefined, message: String(e?.message ?? err) } });
    },
  );
});
