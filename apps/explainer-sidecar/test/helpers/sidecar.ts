/** Starts an in-process sidecar on free ports with silent logs. */
import { pino } from 'pino';
import { defaultConfig, startSidecar, type Sidecar, type SidecarConfig, type SidecarOptions } from '../../src/index.js';

export async function sidecar(over: Partial<SidecarConfig>, options: SidecarOptions = {}): Promise<Sidecar> {
  const config: SidecarConfig = { ...defaultConfig(), host: '127.0.0.1', grpcPort: 0, httpPort: 0, logLevel: 'silent', ...over };
  return startSidecar(config, { logger: pino({ level: process.env.SIDECAR_TEST_LOG ?? 'silent' }), ...options });
}
