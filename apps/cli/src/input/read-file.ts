/** Reads an input file as UTF-8 text; an unreadable file is a usage error (exit 2). */
import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';

export function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message);
    throw usageError(`cannot read ${flag} ${file}: ${why}`);
  }
}
