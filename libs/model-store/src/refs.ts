/**
 * Version references: `name/3` (a version number), `name@production` (an alias), `name` (the latest ready version),
 * or the same as objects. Parsing only checks the syntax; resolving against the store's state is the store's job.
 */
import { ModelStoreError } from './errors.js';
import type { VersionRef } from './types.js';
import { checkAlias, checkName, checkVersionNumber, show } from './validate.js';

/** A syntactically valid reference. */
export type ParsedRef =
  | { kind: 'version'; name: string; version: number }
  | { kind: 'alias'; name: string; alias: string }
  | { kind: 'latest'; name: string };

/** Parses a reference; INVALID_ARGUMENT when it is malformed. */
export function parseRef(ref: VersionRef): ParsedRef {
  if (typeof ref === 'string') {
    const slash = ref.indexOf('/');
    const at = ref.indexOf('@');
    if (slash >= 0 && at >= 0) {
      throw new ModelStoreError('INVALID_ARGUMENT', `Invalid version reference ${show(ref)}: use "name/3", "name@alias" or "name", not both '/' and '@'.`);
    }
    if (slash >= 0) {
      const name = ref.slice(0, slash);
      const num = ref.slice(slash + 1);
      checkName(name, `model name in reference ${show(ref)}`);
      if (!/^[1-9][0-9]{0,15}$/.test(num)) {
        throw new ModelStoreError(
          'INVALID_ARGUMENT',
          `Invalid version reference ${show(ref)}: after '/' comes a version number (e.g. "${name}/3"); for an alias write "${name}@${num}".`,
        );
      }
      const version = Number(num);
      checkVersionNumber(version, `version in reference ${show(ref)}`);
      return { kind: 'version', name, version };
    }
    if (at >= 0) {
      const name = ref.slice(0, at);
      const alias = ref.slice(at + 1);
      checkName(name, `model name in reference ${show(ref)}`);
      if (/^[0-9]+$/.test(alias)) {
        throw new ModelStoreError('INVALID_ARGUMENT', `Invalid version reference ${show(ref)}: aliases are never numbers; for version ${alias} write "${name}/${alias}".`);
      }
      checkAlias(alias);
      return { kind: 'alias', name, alias };
    }
    checkName(ref, 'model name in reference');
    return { kind: 'latest', name: ref };
  }
  if (typeof ref !== 'object' || ref === null) {
    throw new ModelStoreError('INVALID_ARGUMENT', `A version reference is "name/3", "name@alias", "name" or an object { name, version? | alias? }, got ${show(ref)}.`);
  }
  const r = ref as { name?: unknown; version?: unknown; alias?: unknown };
  checkName(r.name, 'model name in reference');
  if (r.version !== undefined && r.alias !== undefined) {
    throw new ModelStoreError('INVALID_ARGUMENT', 'A version reference names a version or an alias, not both.');
  }
  if (r.version !== undefined) {
    checkVersionNumber(r.version);
    return { kind: 'version', name: r.name, version: r.version };
  }
  if (r.alias !== undefined) {
    checkAlias(r.alias);
    return { kind: 'alias', name: r.name, alias: r.alias };
  }
  return { kind: 'latest', name: r.name };
}

/** The reference as text: `name/3`, `name@alias` or `name`. */
export function formatRef(ref: ParsedRef): string {
  switch (ref.kind) {
    case 'version':
      return `${ref.name}/${ref.version}`;
    case 'alias':
      return `${ref.name}@${ref.alias}`;
    case 'latest':
      return ref.name;
  }
}
