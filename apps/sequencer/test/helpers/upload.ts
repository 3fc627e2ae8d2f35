/** Uploading a package file by file, as a remote client does: which blobs are missing, upload those, commit. */
import { store as pb } from '@genome/proto';
import { createVersion, missingBlobs, putBlob, type CallOpts, type Client } from './grpc.js';
import { packageFiles } from './packages.js';

export async function uploadGrpc(c: Client, dir: string, req: pb.DeepPartial<pb.CreateVersionRequest>, o: CallOpts = {}): Promise<{ version: pb.Version; uploaded: number }> {
  const files = packageFiles(dir);
  const { missing } = await missingBlobs(c, { sha256: files.map((f) => f.sha256) }, o);
  let uploaded = 0;
  for (const f of files.filter((f) => missing.includes(f.sha256))) {
    const r = await putBlob(c, f.bytes, { sha256: f.sha256, size: f.size }, o);
    if (!r.existed) uploaded++;
  }
  const version = await createVersion(c, { ...req, files: files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) }, o);
  return { version, uploaded };
}

export function headers(token?: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

/** JSON call: status and parsed body. */
export async function rest(url: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: headers(init.token, init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

export async function uploadRest(base: string, dir: string, name: string, extra: Record<string, unknown> = {}, token?: string): Promise<{ status: number; body: any; uploaded: number }> {
  const files = packageFiles(dir);
  const missing = await rest(`${base}/blobs:missing`, { method: 'POST', body: { sha256: files.map((f) => f.sha256) }, token });
  if (missing.status !== 200) throw new Error(`blobs:missing: ${missing.status} ${JSON.stringify(missing.body)}`);
  let uploaded = 0;
  for (const f of files.filter((f) => (missing.body.missing as string[]).includes(f.sha256))) {
    const r = await fetch(`${base}/blobs/${f.sha256}`, { method: 'PUT', body: f.bytes, headers: headers(token, { 'content-type': 'application/octet-stream' }) });
    if (r.status !== 201 && r.status !== 200) throw new Error(`PUT blob ${f.path}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    if (r.status === 201) uploaded++;
  }
  const created = await rest(`${base}/models/${name}/versions`, { method: 'POST', body: { files: files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })), ...extra }, token });
  return { ...created, uploaded };
}
