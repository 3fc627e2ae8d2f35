/** Command-line and environment options of a Genome server: one table, typed values, CONFIG errors that name the option. */
import { ServerKitError } from './errors.js';
import type { TlsFiles } from './tls.js';

/** One option: its flag names, env name, and how to apply a string value to the configuration `C`. */
export interface CliOption<C> {
  flags: string[];
  env?: string;
  /** Takes no value. */
  boolean?: boolean;
  apply: (c: C, v: string, key: string) => void;
  help: string;
}

const bad = (msg: string) => new ServerKitError('CONFIG', msg);

/**
 * An integer option value >= `min` (`key` names the flag or env variable in the error). Strict by default (digits
 * only, within 2^53); `lenient` takes what Number() makes an integer of, the empty string included (as 0).
 */
export function intOption(v: string, key: string, min: number, lenient = false): number {
  const n = Number(v);
  const ok = lenient ? Number.isInteger(n) : v.trim() !== '' && Number.isSafeInteger(n);
  if (!ok || n < min) throw bad(`${key} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** A boolean option value: 1/true/yes/on or 0/false/no/off/empty, any case. */
export function boolOption(v: string, key: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw bad(`${key} must be true or false, got "${v}"`);
}

/** The TLS files of a configuration, created empty by the first TLS option that is applied. */
export function tlsOf(c: { tls?: TlsFiles }): TlsFiles {
  return (c.tls ??= { certFile: '', keyFile: '' });
}

export interface FlagHandlers<C> {
  /** The error thrown for --help / -h (its message is the usage text). */
  help(): Error;
  /** Flags accepted and dropped (with their value, when one follows). */
  ignored?: ReadonlySet<string>;
  /** Called for each recognised flag with its value (`true` for a boolean flag given alone). */
  value(option: CliOption<C>, value: string, flag: string): void;
}

/**
 * Walks command-line flags: `--flag value`, `--flag=value`, a boolean flag alone; an unknown flag or a missing value
 * is a CONFIG error that says so.
 */
export function scanFlags<C>(argv: readonly string[], options: readonly CliOption<C>[], h: FlagHandlers<C>): void {
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '--help' || a === '-h') throw h.help();
    const opt = options.find((o) => o.flags.includes(a));
    if (!opt) {
      if (h.ignored?.has(a)) {
        if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++;
        continue;
      }
      throw bad(`unknown option ${a}; run with --help for the list`);
    }
    if (value === undefined) {
      if (opt.boolean && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) value = 'true';
      else {
        value = argv[++i];
        if (value === undefined) throw bad(`${a} needs a value`);
      }
    }
    h.value(opt, value, a);
  }
}
