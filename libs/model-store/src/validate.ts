/**
 * Argument validation shared by every entry point: model names, aliases, tags, metrics, metadata fields, run ids,
 * file paths and blob addresses. Every failure is `ModelStoreError` INVALID_ARGUMENT saying what was wrong and what is
 * accepted.
 */
import { ModelStoreError } from './errors.js';
import { METADATA_FIELDS, type MetadataField, type ModelMetadata } from './types.js';

/** Model names: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Aliases: `[A-Za-z_][A-Za-z0-9_.-]{0,63}` (never all digits, so `name@3` can never be mistaken for a version). */
export const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** Tag and metric keys: `[A-Za-z0-9_.-]{1,128}`. */
export const KEY_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** Lower-case hex SHA-256. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Aliases that would read like something else: `name@latest` means the latest version in other registries. */
export const RESERVED_ALIASES: ReadonlySet<string> = new Set(['latest']);

export const MAX_TAGS = 200;
export const MAX_METRICS = 200;
export const MAX_TAG_VALUE_CHARS = 4096;
export const MAX_DESCRIPTION_CHARS = 8192;
export const MAX_FIELD_CHARS = 512;
export const MAX_FILES = 100_000;
export const MAX_PATH_CHARS = 1024;
export const MAX_ALIASES_PER_SAVE = 32;

/** `"abc"` for messages, cut to 80 characters. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function invalid(message: string): ModelStoreError {
  return new ModelStoreError('INVALID_ARGUMENT', message);
}

/** Throws unless `name` is a valid model name. */
export function checkName(name: unknown, what = 'model name'): asserts name is string {
  if (typeof name === 'string' && NAME_PATTERN.test(name)) return;
  throw invalid(
    `Invalid ${what} ${show(name)}: a name is 1-128 characters of letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. "fraud-detector").`,
  );
}

/** Throws unless `alias` is a valid alias name. */
export function checkAlias(alias: unknown): asserts alias is string {
  if (typeof alias !== 'string' || !ALIAS_PATTERN.test(alias)) {
    throw invalid(
      `Invalid alias ${show(alias)}: an alias is 1-64 characters of letters, digits, '_', '.' and '-', starting with a letter or '_' (e.g. "production", "champion"); it is never all digits.`,
    );
  }
  if (/^[0-9]+$/.test(alias)) throw invalid(`Invalid alias ${show(alias)}: an alias is never all digits (it would read like a version number).`);
  if (RESERVED_ALIASES.has(alias.toLowerCase())) {
    throw invalid(`Invalid alias ${show(alias)}: "latest" is reserved (a plain model name already means its latest ready version).`);
  }
}

/** Throws unless `version` is a positive safe integer. */
export function checkVersionNumber(version: unknown, what = 'version'): asserts version is number {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version >= 1) return;
  throw invalid(`Invalid ${what} ${show(version)}: versions are positive integers (1, 2, 3, ...).`);
}

function checkKey(key: string, kind: 'tag' | 'metric'): void {
  if (!KEY_PATTERN.test(key)) {
    throw invalid(`Invalid ${kind} key ${show(key)}: keys are 1-128 characters of letters, digits, '_', '.' and '-'.`);
  }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/** Validates a tag map (keys, string values up to 4096 characters, at most 200) and returns its entries. */
export function checkTags(tags: unknown, what = 'tags'): [string, string][] {
  if (tags === undefined || tags === null) return [];
  if (!isPlainRecord(tags)) throw invalid(`${what} must be an object of string values, got ${show(tags)}.`);
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw invalid(`${what} has ${entries.length} entries; at most ${MAX_TAGS} tags are allowed.`);
  for (const [k, v] of entries) {
    checkKey(k, 'tag');
    if (typeof v !== 'string') throw invalid(`Tag ${show(k)} must have a string value, got ${show(v)}.`);
    if (v.length > MAX_TAG_VALUE_CHARS) throw invalid(`Tag ${show(k)} has a ${v.length}-character value; at most ${MAX_TAG_VALUE_CHARS} characters are allowed.`);
  }
  return entries as [string, string][];
}

/** Validates a metric map (keys, finite numbers, at most 200) and returns its entries. */
export function checkMetrics(metrics: unknown, what = 'metrics'): [string, number][] {
  if (metrics === undefined || metrics === null) return [];
  if (!isPlainRecord(metrics)) throw invalid(`${what} must be an object of finite numbers, got ${show(metrics)}.`);
  const entries = Object.entries(metrics);
  if (entries.length > MAX_METRICS) throw invalid(`${what} has ${entries.length} entries; at most ${MAX_METRICS} metrics are allowed.`);
  for (const [k, v] of entries) {
    checkKey(k, 'metric');
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`Metric ${show(k)} must be a finite number, got ${show(v)}.`);
  }
  return entries as [string, number][];
}

/** Validates a list of keys to delete (tags or metrics). */
export function checkKeyList(keys: unknown, kind: 'tag' | 'metric', what: string): string[] {
  if (keys === undefined || keys === null) return [];
  if (!Array.isArray(keys)) throw invalid(`${what} must be an array of ${kind} keys, got ${show(keys)}.`);
  for (const k of keys) {
    if (typeof k !== 'string') throw invalid(`${what} must hold strings, got ${show(k)}.`);
    checkKey(k, kind);
  }
  return [...new Set(keys as string[])];
}

/** A free-text field: a string (empty = absent) without NUL characters, up to `max` characters. */
export function checkText(value: unknown, field: string, max = MAX_FIELD_CHARS): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string, got ${show(value)}.`);
  if (value.length > max) throw invalid(`${field} has ${value.length} characters; at most ${max} are allowed.`);
  if (value.includes('\u0000')) throw invalid(`${field} must not contain NUL characters.`);
  return value;
}

/** The metadata of a version without the name: validated, empty strings dropped. */
export type VersionMetadata = Omit<ModelMetadata, 'canonicalName'>;

/** Validates the metadata fields of a save (canonicalName is checked separately). */
export function checkMetadata(opts: Partial<ModelMetadata>): VersionMetadata {
  const out: VersionMetadata = {};
  for (const field of METADATA_FIELDS) {
    const value = checkText(opts[field], field, field === 'description' ? MAX_DESCRIPTION_CHARS : MAX_FIELD_CHARS);
    if (value !== undefined) out[field as MetadataField] = value;
  }
  return out;
}

/** A pipeline run id or stage: non-empty text up to 512 characters. */
export function checkRunId(runId: unknown, field = 'runId'): string {
  const value = checkText(runId, field);
  if (value === undefined) throw invalid(`${field} is required (the id of the pipeline run).`);
  return value;
}

/**
 * A file path inside a package: relative, `/`-separated, no empty, `.` or `..` segments, no backslashes or NUL,
 * at most 1024 characters.
 */
export function checkPackagePath(path: unknown, what = 'file path'): asserts path is string {
  const bad = (why: string): never => {
    throw invalid(`Invalid ${what} ${show(path)}: ${why}; paths are relative and '/'-separated (e.g. "model/model.onnx").`);
  };
  if (typeof path !== 'string' || path.length === 0) bad('it is empty or not a string');
  const p = path as string;
  if (p.length > MAX_PATH_CHARS) bad(`it is longer than ${MAX_PATH_CHARS} characters`);
  if (p.includes('\\')) bad('it contains a backslash');
  if (p.includes('\u0000')) bad('it contains a NUL character');
  if (p.startsWith('/')) bad('it is absolute');
  for (const segment of p.split('/')) {
    if (segment === '') bad('it has an empty segment');
    if (segment === '.' || segment === '..') bad(`it has a "${segment}" segment`);
  }
}

/** Throws unless `sha256` is 64 lower-case hex digits. */
export function checkSha256(sha256: unknown, what = 'sha256'): asserts sha256 is string {
  if (typeof sha256 === 'string' && SHA256_HEX.test(sha256)) return;
  throw invalid(`${what} must be a SHA-256 as 64 lower-case hex digits, got ${show(sha256)}.`);
}

/** Throws unless `size` is a non-negative safe integer. */
export function checkSize(size: unknown, what = 'size'): asserts size is number {
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) return;
  throw invalid(`${what} must be a non-negative integer number of bytes, got ${show(size)}.`);
}

/** Validates an alias list of a save: each valid, no duplicates, at most 32. */
export function checkAliasList(aliases: unknown): string[] {
  if (aliases === undefined || aliases === null) return [];
  if (!Array.isArray(aliases)) throw invalid(`aliases must be an array of alias names, got ${show(aliases)}.`);
  if (aliases.length > MAX_ALIASES_PER_SAVE) throw invalid(`A save may set at most ${MAX_ALIASES_PER_SAVE} aliases, got ${aliases.length}.`);
  for (const a of aliases) checkAlias(a);
  return [...new Set(aliases as string[])];
}

/** Page size: 1..1000, default 100. */
export function checkPageSize(pageSize: unknown, max = 1000, fallback = 100): number {
  if (pageSize === undefined || pageSize === null || pageSize === 0) return fallback;
  if (typeof pageSize === 'number' && Number.isSafeInteger(pageSize) && pageSize >= 1 && pageSize <= max) return pageSize;
  throw invalid(`pageSize must be an integer from 1 to ${max}, got ${show(pageSize)}.`);
}
