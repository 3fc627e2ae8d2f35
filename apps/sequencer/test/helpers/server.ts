/** Starts an in-process platform server on free ports over a scratch SQLite store, with silent logs. */
import { pino } from 'pino';
import { defaultConfig, startPlatform, type Platform, type PlatformConfig } from '../../src/index.js';
import { scratch } from './packages.js';

export interface TestPlatform extends Platform {
  /** The scratch store root (metadata.sqlite, blobs/). */
  storeDir: string;
  /** http(s)://127.0.0.1:<httpPort>/v1.0/genome/modelstore */
  rest: string;
}

export async function platform(t: { teardown(fn: () => unknown): void }, over: Partial<PlatformConfig> = {}): Promise<TestPlatform> {
  const storeDir = over.store?.dir ?? scratch(t, 'genome-platform-store-');
  const config: PlatformConfig = { ...defaultConfig(), host: '127.0.0.1', grpcPort: 0, httpPort: 0, logLevel: 'silent', ...over, store: { dir: storeDir, ...over.store } };
  const p = await startPlatform(config, { logger: pino({ level: process.env.PLATFORM_TEST_LOG ?? 'silent' }) });
  t.teardown(() => p.close(100));
  const scheme = config.tls ? 'https' : 'http';
  return Object.assign(p, { storeDir, rest: `${scheme}://127.0.0.1:${p.httpPort}/v1.0/genome/modelstore` });
}
