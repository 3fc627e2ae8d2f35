/** TLS and mTLS from PEM files, for gRPC servers (grpc-js credentials) and HTTPS servers (node:https options). */
import { readFileSync } from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';
import { ServerKitError } from './errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle for client certificates (mTLS). */
  caFile?: string;
  /** Reject clients without a certificate signed by `caFile`. */
  requireClientCert?: boolean;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ServerKitError('CONFIG', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function checked(tls: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const ca = tls.caFile ? read(tls.caFile, 'TLS CA file') : undefined;
  if (tls.requireClientCert && !ca) throw new ServerKitError('CONFIG', 'mTLS (require client certificates) needs a CA file (--tls-ca) to check client certificates');
  return { cert: read(tls.certFile, 'TLS certificate'), key: read(tls.keyFile, 'TLS key'), ...(ca ? { ca } : {}) };
}

/** grpc-js server credentials: insecure without `tls`. */
export function grpcServerCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const f = checked(tls);
  return ServerCredentials.createSsl(f.ca ?? null, [{ private_key: f.key, cert_chain: f.cert }], tls.requireClientCert ?? false);
}

/** node:https server options for the same files. */
export function httpsServerOptions(tls: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  const f = checked(tls);
  return { ...f, requestCert: tls.requireClientCert ?? false, rejectUnauthorized: tls.requireClientCert ?? false };
}
