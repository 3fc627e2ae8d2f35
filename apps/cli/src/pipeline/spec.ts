/**
 * Pipeline files, read and validated locally before anything is sent: a file that is not JSON or that the seed's
 * schema rejects is a usage error (exit 2) naming every field path at fault. @genome/sequencer is imported on first
 * use, so that the other commands never load it.
 */
import { readFile } from 'node:fs/promises';
import type { PipelineSpec } from '@genome/sequencer';
import { CliError, usageError } from '../errors.js';

export type SequencerLib = typeof import('@genome/sequencer');

let lib: Promise<SequencerLib> | undefined;

/** @genome/sequencer, loaded once. */
export function loadSequencer(): Promise<SequencerLib> {
  lib ??= import('@genome/sequencer');
  return lib;
}

/** A pipeline file: its text (sent as is) and the parsed, validated pipeline. */
export interface PipelineFile {
  path: string;
  text: string;
  pipeline: PipelineSpec;
}

/** Reads `path`, parses it as JSON and validates it with parsePipeline; throws a usage error on any problem. */
export async function readPipelineFile(path: string): Promise<PipelineFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read pipeline file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError('USAGE', `${path} is not JSON: ${(err as Error).message}`, 'INVALID_ARGUMENT');
  }
  const { parsePipeline } = await loadSequencer();
  try {
    return { path, text, pipeline: parsePipeline(doc) };
  } catch (err) {
    throw sequencerError(err, `${path} is not a valid pipeline`);
  }
}

/** A SequencerError as a CliError (exit codes as the server's statuses map); a rejected pipeline lists its violations. */
export function sequencerError(err: unknown, context?: string): unknown {
  if (!(err instanceof Error) || err.name !== 'SequencerError') return err;
  const e = err as Error & { code: string; violations?: { path: string; message: string }[] };
  if (e.code === 'INVALID_ARGUMENT') {
    const list = e.violations?.length ? e.violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join('; ') : e.message;
    return new CliError('USAGE', context ? `${context}: ${list}` : list, 'INVALID_ARGUMENT');
  }
  const kind = e.code === 'NOT_FOUND' ? 'NOT_FOUND' : e.code === 'UNAVAILABLE' ? 'UNREACHABLE' : 'SERVER';
  return new CliError(kind, context ? `${context}: ${e.message}` : e.message, e.code);
}
