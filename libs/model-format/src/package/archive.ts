/**
 * Unpacks a Genome package archive (.tar.gz / .tgz / .tar via `tar`, an optional peer dependency loaded at the first
 * tar archive, MISSING_DEPENDENCY without it; .zip via `fflate`) into a fresh temporary directory, refusing entries
 * that would escape it (absolute paths, `..`), links, and archives whose unpacked size exceeds a limit (zip bombs).
 */
import { mkdtemp, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { ModelFormatError } from '../errors.js';
import { importOptional } from '../optional-module.js';

export interface ExtractOptions {
  /** Largest total unpacked size in bytes (default 2 GiB). */
  maxBytes?: number;
  /** Largest number of entries (default 100000). */
  maxEntries?: number;
}

export type ArchiveKind = 'tar' | 'tar.gz' | 'zip';

/** Recognises an archive by its first bytes; undefined when it is none of the supported kinds. */
export async function archiveKind(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'zip'; // empty zip
    if (bytesRead >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

function safeRelative(name: string): string | undefined {
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n) || isAbsolute(n)) return undefined;
  const norm = normalize(n);
  if (norm === '..' || norm.startsWith(`..${sep}`) || norm.split(sep).includes('..')) return undefined;
  return norm;
}

async function extractZip(file: string, dest: string, maxBytes: number, maxEntries: number): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { unzipSync } = await import('fflate');
  const data = new Uint8Array(await readFile(file));
  let total = 0;
  let entries = 0;
  let problem: string | undefined;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(data, {
      filter: (f) => {
        entries++;
        if (entries > maxEntries) problem ??= `more than ${maxEntries} entries`;
        if (f.name.endsWith('/')) return false;
        if (safeRelative(f.name) === undefined) problem ??= `entry "${f.name}" points outside the package`;
        total += f.originalSize;
        if (total > maxBytes) problem ??= `unpacked size exceeds ${maxBytes} bytes`;
        return problem === undefined;
      },
    });
  } catch (err) {
    throw new ModelFormatError('INVALID_PACKAGE', `cannot read zip archive ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (problem) throw new ModelFormatError('INVALID_PACKAGE', `refusing zip archive ${file}: ${problem}`);
  let written = 0;
  for (const [name, bytes] of Object.entries(files)) {
    written += bytes.length;
    if (written > maxBytes) throw new ModelFormatError('INVALID_PACKAGE', `refusing zip archive ${file}: unpacked size exceeds ${maxBytes} bytes`);
    const target = join(dest, safeRelative(name)!);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
}

async function extractTar(file: string, dest: string, maxBytes: number, maxEntries: number): Promise<void> {
  const tar = await importOptional<typeof import('tar')>('tar', `Reading the .tar/.tar.gz package ${file} needs`, ['tar']);
  let total = 0;
  let entries = 0;
  let problem: string | undefined;
  try {
    await tar.x({
      file,
      cwd: dest,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (path, entry) => {
        entries++;
        const e = entry as { type?: string; size?: number };
        if (entries > maxEntries) problem ??= `more than ${maxEntries} entries`;
        if (e.type === 'SymbolicLink' || e.type === 'Link') {
          problem ??= `entry "${path}" is a link`;
          return false;
        }
        if (safeRelative(path) === undefined) problem ??= `entry "${path}" points outside the package`;
        total += e.size ?? 0;
        if (total > maxBytes) problem ??= `unpacked size exceeds ${maxBytes} bytes`;
        return problem === undefined;
      },
    });
  } catch (err) {
    throw new ModelFormatError('INVALID_PACKAGE', `cannot read tar archive ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (problem) throw new ModelFormatError('INVALID_PACKAGE', `refusing tar archive ${file}: ${problem}`);
}

/**
 * Extracts `file` into a new temporary directory and returns the package root inside it (the directory holding
 * genome.json: the top level, or its single sub-directory). The caller removes `tempDir` when done.
 */
export async function extractPackageArchive(
  file: string,
  kind: ArchiveKind,
  opts: ExtractOptions = {},
): Promise<{ root: string; tempDir: string }> {
  const maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
  const maxEntries = opts.maxEntries ?? 100000;
  const tempDir = await mkdtemp(join(tmpdir(), 'genome-pkg-'));
  try {
    if (kind === 'zip') await extractZip(file, tempDir, maxBytes, maxEntries);
    else await extractTar(file, tempDir, maxBytes, maxEntries);
    let root = tempDir;
    const top = await readdir(tempDir);
    if (!top.includes('genome.json') && top.length === 1 && (await stat(join(tempDir, top[0]!))).isDirectory()) {
      root = join(tempDir, top[0]!);
    }
    return { root, tempDir };
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }); // a failed extraction may still be flushing files
    throw err;
  }
}
