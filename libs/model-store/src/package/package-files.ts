/**
 * The files of a Genome package on disk, and the files its manifest names.
 *
 * {@link listPackageFiles} walks a package directory: every regular file becomes a stored file under its relative,
 * `/`-separated path. A symbolic link is followed only when its target stays inside the package (the target's bytes
 * are stored under the link's path); a link leaving the package, a special file, or a directory cycle is refused.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { GenomeManifest } from '@genome/model-format';
import { ModelStoreError } from '../errors.js';
import { MAX_FILES, checkPackagePath } from '../validate.js';

/** A file found in a package directory. */
export interface PackageFile {
  /** Relative `/`-separated path inside the package. */
  path: string;
  /** Absolute path to read it from. */
  abs: string;
  size: number;
}

function isInside(root: string, target: string): boolean {
  const r = relative(root, target);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !/^[A-Za-z]:/.test(r) && !r.startsWith(sep));
}

/** Every file of the package rooted at `root`, sorted by path. */
export async function listPackageFiles(root: string): Promise<PackageFile[]> {
  const realRoot = await realpath(root);
  const out: PackageFile[] = [];
  const visiting = new Set<string>();

  async function walk(dir: string, realDir: string, prefix: string): Promise<void> {
    if (visiting.has(realDir)) {
      throw new ModelStoreError('INVALID_ARGUMENT', `The package ${root} has a directory cycle through symbolic links at "${prefix || '.'}".`);
    }
    visiting.add(realDir);
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      let st = await lstat(abs);
      let target = abs;
      if (st.isSymbolicLink()) {
        try {
          target = await realpath(abs);
        } catch {
          throw new ModelStoreError('INVALID_ARGUMENT', `The package file "${rel}" is a symbolic link to nothing (${abs}).`);
        }
        if (!isInside(realRoot, target)) {
          throw new ModelStoreError(
            'INVALID_ARGUMENT',
            `The package file "${rel}" is a symbolic link leaving the package (to ${target}); copy the file into the package instead.`,
          );
        }
        st = await stat(target);
      }
      if (st.isDirectory()) {
        await walk(abs, await realpath(abs), rel);
      } else if (st.isFile()) {
        checkPackagePath(rel, 'package file path');
        out.push({ path: rel, abs: target, size: st.size });
        if (out.length > MAX_FILES) throw new ModelStoreError('INVALID_ARGUMENT', `The package ${root} has more than ${MAX_FILES} files.`);
      } else {
        throw new ModelStoreError('INVALID_ARGUMENT', `The package file "${rel}" is neither a regular file nor a directory (a socket, FIFO or device).`);
      }
    }
    visiting.delete(realDir);
  }

  await walk(root, realRoot, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Normalizes a manifest path the way a package is laid out (`./a//b` → `a/b`); undefined when it leaves the package. */
export function normalizeManifestPath(path: string): string | undefined {
  if (path.startsWith('/') || path.includes('\\') || /^[A-Za-z]:/.test(path)) return undefined;
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  return out.length > 0 ? out.join('/') : undefined;
}

/** The files a manifest names, with the manifest field naming each. */
export function manifestFiles(manifest: GenomeManifest): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = [];
  const a = manifest.artifacts;
  if (a) {
    out.push({ field: '/artifacts/model', path: a.model });
    if (a.background) out.push({ field: '/artifacts/background', path: a.background });
    if (a.labels) out.push({ field: '/artifacts/labels', path: a.labels });
    for (const [k, v] of Object.entries(a.extra ?? {})) out.push({ field: `/artifacts/extra/${k}`, path: v });
  }
  if (manifest.explainer?.background) out.push({ field: '/explainer/background/path', path: manifest.explainer.background.path });
  for (const [i, s] of (manifest.samples ?? []).entries()) {
    const e = s.explanation as { path?: unknown };
    if (typeof e.path === 'string') out.push({ field: `/samples/${i}/explanation/path`, path: e.path });
    if (s.input && typeof s.input === 'object' && !Array.isArray(s.input)) out.push({ field: `/samples/${i}/input/path`, path: s.input.path });
  }
  return out;
}

/** Throws INVALID_ARGUMENT unless every file the manifest names is among `paths`. */
export function checkManifestFiles(manifest: GenomeManifest, paths: ReadonlySet<string>): void {
  const problems: string[] = [];
  for (const { field, path } of manifestFiles(manifest)) {
    const p = normalizeManifestPath(path);
    if (p === undefined) problems.push(`${field}: "${path}" points outside the package`);
    else if (!paths.has(p)) problems.push(`${field}: "${path}" is not among the package's files`);
  }
  if (problems.length > 0) {
    const listed = [...paths].slice(0, 10).join(', ') + (paths.size > 10 ? `, ... (${paths.size} files)` : '');
    throw new ModelStoreError('INVALID_ARGUMENT', `genome.json names files the package lacks:\n  - ${problems.join('\n  - ')}\nThe package holds: ${listed}.`);
  }
}
