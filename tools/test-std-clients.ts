/**
 * For tests of the Genome servers: generic clients for the standard services (health, reflection), loaded from their
 * .proto with proto-loader.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';

const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');

type Ctor = new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, (...a: unknown[]) => unknown>;

function load(file: string, path: string[]): Ctor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, longs: Number, enums: String, defaults: true })) as Record<string, unknown>;
  return path.reduce((o: Record<string, unknown>, k) => o[k] as Record<string, unknown>, pkg) as unknown as Ctor;
}

export function healthCheck(port: number, service: string): Promise<string> {
  const Health = load(healthProto, ['grpc', 'health', 'v1', 'Health']);
  const c = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    (c.Check as (r: unknown, cb: (e: Error | null, r: { status: string }) => void) => void)({ service }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r.status);
    }),
  );
}

/** Lists services and fetches the file descriptor containing `symbol` through server reflection v1. */
export function reflect(port: number, symbol: string): Promise<{ services: string[]; descriptors: Buffer[] }> {
  const Reflection = load(reflectionProto, ['grpc', 'reflection', 'v1', 'ServerReflection']);
  const c = new Reflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = (c.ServerReflectionInfo as () => grpc.ClientDuplexStream<unknown, Record<string, unknown>>)();
    const out = { services: [] as string[], descriptors: [] as Buffer[] };
    let pending = 2;
    call.on('data', (m: Record<string, unknown>) => {
      const list = m.list_services_response as { service: { name: string }[] } | undefined;
      if (list) out.services = list.service.map((s) => s.name);
      const fd = m.file_descriptor_response as { file_descriptor_proto: Buffer[] } | undefined;
      if (fd) out.descriptors = fd.file_descriptor_proto;
      if (m.error_response) return reject(new Error(JSON.stringify(m.error_response)));
      if (--pending === 0) call.end();
    });
    call.on('error', reject);
    call.on('end', () => {
      c.close();
      resolve(out);
    });
    call.write({ list_services: '' });
    call.write({ file_containing_symbol: symbol });
  });
}

/** Resolves with the error of a call that must fail; rejects when it succeeds. */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}
