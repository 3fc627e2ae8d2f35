/**
 * {@link makeDirs}: `mkdir -p` that always terminates.
 *
 * Node's `mkdir(path, { recursive: true })` (both the promise and the sync form, Node 20 and later) never returns on a
 * path whose parent exists but cannot hold children and answers ENOENT for them, as procfs and sysfs do
 * (`/proc/nonexistent/x`): it reads ENOENT as "the parent is missing", creates the parent (EEXIST, so done), retries
 * the child, gets ENOENT again, and loops for ever on a thread-pool thread, so the promise never settles and the
 * process never exits. This walk retries each directory once after its parent is known to exist, and then fails with
 * the error of that retry.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** Throws ENOTDIR (like `mkdir -p`) unless `path`, which exists, is a directory (or a link to one). */
async function expectDirectory(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s?.isDirectory()) return;
  throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', syscall: 'mkdir', path });
}

/** Creates `dir` and its missing parents (nothing when it is a directory already); Node's errors otherwise (ENOENT, ENOTDIR, EACCES, ...). */
export async function makeDirs(dir: string): Promise<void> {
  const path = resolve(dir);
  try {
    await mkdir(path);
    return;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return expectDirectory(path);
    const parent = dirname(path);
    if (errorCode(err) !== 'ENOENT' || parent === path) throw err;
    await makeDirs(parent);
  }
  // The parent exists now: a second ENOENT is final (a procfs or sysfs directory, a parent removed meanwhile).
  try {
    await mkdir(path);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return expectDirectory(path);
    throw err;
  }
}
