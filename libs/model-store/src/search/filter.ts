/**
 * The search filter's text form, MLflow-style:
 *
 *     application = 'fraud' AND metrics.auc >= 0.9 AND tags.team LIKE 'risk%' AND name IN ('a', 'b')
 *
 * Grammar: `condition (AND condition)*`; a condition is `field op value`.
 * - field: `name`, `metrics.auc`, `tags.team`, `tags.\`odd-key\``, `tags."odd-key"` (see {@link fieldSpec} for names);
 * - op: `=` (or `==`), `!=` (or `<>`), `<`, `<=`, `>`, `>=`, `LIKE`, `IN` (keywords in any case);
 * - value: `'text'` or `"text"` (a quote inside is doubled: `'it''s'`), a number (`3`, `-0.5`, `1e-3`), or for `IN`
 *   a parenthesized list `('a', 'b')`;
 * - `LIKE 'abc%'` is a prefix match: `%` may only end the pattern (a literal `%` or `\` is escaped with `\`; `_` is
 *   an ordinary character). `LIKE 'abc'` without `%` is `=`.
 * `OR`, `NOT`, `ILIKE` and parentheses around conditions are not supported and are refused with their position.
 *
 * Every error is `ModelStoreError` INVALID_ARGUMENT naming the position (1-based character) and the token found.
 */
import { ModelStoreError } from '../errors.js';
import type { SearchCondition, SearchOp } from '../types.js';

/** A condition read from text, with where its parts start (1-based), for later messages. */
export interface ParsedCondition extends SearchCondition {
  /** Position of the field, and of the value (first value of a list). */
  pos: { field: number; value: number };
  /** How the value was written, for numbers given to string fields (`tags.x = 1.50` means "1.50"). */
  raw?: string | string[];
}

type TokenKind = 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma' | 'eof';

interface Token {
  kind: TokenKind;
  /** The text as written. */
  text: string;
  /** ident: the field name with a quoted key unquoted; string: the unescaped value; op: the operator. */
  value: string;
  /** 1-based. */
  pos: number;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'LIKE', 'ILIKE', 'IN', 'IS', 'NULL', 'BETWEEN']);

function filterError(message: string, pos: number, token?: Token | string): ModelStoreError {
  const found = token === undefined ? '' : typeof token === 'string' ? `, found ${token}` : token.kind === 'eof' ? ', found the end of the filter' : `, found ${JSON.stringify(token.text)}`;
  return new ModelStoreError('INVALID_ARGUMENT', `Invalid filter: ${message} at position ${pos}${found}.`);
}

/** Reads a quoted run starting at `i` (the quote); returns the unescaped value and the index after the closing quote. */
function readQuoted(text: string, i: number): { value: string; end: number } {
  const quote = text[i]!;
  let value = '';
  let j = i + 1;
  for (;;) {
    if (j >= text.length) throw filterError(`unterminated ${quote === '`' ? 'quoted key' : 'string'} starting`, i + 1);
    const c = text[j]!;
    if (c === quote) {
      if (text[j + 1] === quote) {
        value += quote;
        j += 2;
        continue;
      }
      return { value, end: j + 1 };
    }
    value += c;
    j++;
  }
}

const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const IDENT_HEAD = /^[A-Za-z_][A-Za-z0-9_]*/;
const KEY_REST = /^[A-Za-z0-9_.-]+/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const pos = i + 1;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', text: c, value: c, pos });
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=' || two === '==') {
      tokens.push({ kind: 'op', text: two, value: two === '<>' ? '!=' : two === '==' ? '=' : two, pos });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, value: c, pos });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const { value, end } = readQuoted(text, i);
      tokens.push({ kind: 'string', text: text.slice(i, end), value, pos });
      i = end;
      continue;
    }
    const num = NUMBER.exec(text.slice(i));
    if (num && (c !== '-' || tokens.length === 0 || tokens[tokens.length - 1]!.kind !== 'ident')) {
      const after = text[i + num[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) throw filterError('a number runs into letters', pos, JSON.stringify(text.slice(i, i + num[0].length + 1)));
      tokens.push({ kind: 'number', text: num[0], value: num[0], pos });
      i += num[0].length;
      continue;
    }
    const head = IDENT_HEAD.exec(text.slice(i));
    if (head) {
      let j = i + head[0].length;
      let value = head[0];
      if (text[j] === '.') {
        const q = text[j + 1];
        if (q === '`' || q === '"') {
          const { value: key, end } = readQuoted(text, j + 1);
          value += `.${key}`;
          j = end;
        } else {
          const rest = KEY_REST.exec(text.slice(j + 1));
          if (!rest) throw filterError(`expected a key after "${head[0]}."`, j + 2, JSON.stringify(text[j + 1] ?? ''));
          value += `.${rest[0]}`;
          j += 1 + rest[0].length;
        }
      }
      tokens.push({ kind: 'ident', text: text.slice(i, j), value, pos });
      i = j;
      continue;
    }
    throw filterError('unexpected character', pos, JSON.stringify(c));
  }
  tokens.push({ kind: 'eof', text: '', value: '', pos: text.length + 1 });
  return tokens;
}

function keyword(t: Token): string | undefined {
  if (t.kind !== 'ident' || t.value.includes('.')) return undefined;
  const up = t.value.toUpperCase();
  return KEYWORDS.has(up) ? up : undefined;
}

/** Reads a LIKE pattern: `\x` is a literal x, `%` only at the end (prefix); returns the op and value. */
function likePattern(t: Token): { op: SearchOp; value: string } {
  let out = '';
  const s = t.value;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      if (i + 1 >= s.length) throw filterError('a LIKE pattern ends with a lone "\\"', t.pos, t);
      out += s[++i];
    } else if (c === '%') {
      if (i !== s.length - 1) {
        throw filterError("LIKE only matches prefixes: '%' may only end the pattern (write 'abc%'; escape a literal % as \\%)", t.pos, t);
      }
      return { op: 'prefix', value: out };
    } else {
      out += c;
    }
  }
  return { op: '=', value: out };
}

/** Parses filter text into conditions (AND). Empty or blank text gives none. */
export function parseFilter(text: string): ParsedCondition[] {
  if (typeof text !== 'string') throw new ModelStoreError('INVALID_ARGUMENT', 'filter must be a string.');
  if (text.length > 65_536) throw new ModelStoreError('INVALID_ARGUMENT', `filter has ${text.length} characters; at most 65536 are allowed.`);
  const tokens = tokenize(text);
  let k = 0;
  const next = (): Token => tokens[k++]!;
  const peek = (): Token => tokens[k]!;
  const out: ParsedCondition[] = [];
  if (peek().kind === 'eof') return out;
  for (;;) {
    const f = next();
    if (f.kind !== 'ident' || keyword(f) !== undefined) {
      const hint = f.kind === 'lparen' ? ' (parentheses only enclose IN lists)' : '';
      throw filterError(`expected a field name (e.g. name, metrics.auc, tags.team)${hint}`, f.pos, f);
    }
    const o = next();
    const kw = keyword(o);
    let op: SearchOp;
    if (o.kind === 'op') {
      op = o.value as SearchOp;
    } else if (kw === 'LIKE') {
      op = 'prefix';
    } else if (kw === 'IN') {
      op = 'in';
    } else if (kw === 'NOT') {
      throw filterError('NOT is not supported (use != for a single value)', o.pos, o);
    } else if (kw === 'ILIKE') {
      throw filterError("ILIKE is not supported (LIKE 'prefix%' is case-sensitive)", o.pos, o);
    } else if (kw === 'IS') {
      throw filterError('IS [NOT] NULL is not supported (a condition on a field a version lacks is false)', o.pos, o);
    } else {
      throw filterError('expected an operator (=, !=, <, <=, >, >=, LIKE, IN)', o.pos, o);
    }

    if (op === 'in') {
      const lp = next();
      if (lp.kind !== 'lparen') throw filterError("expected '(' to start the IN list", lp.pos, lp);
      const values: (string | number)[] = [];
      const raws: string[] = [];
      let first = 0;
      for (;;) {
        const v = next();
        if (v.kind === 'string') values.push(v.value);
        else if (v.kind === 'number') values.push(Number(v.value));
        else throw filterError("expected a value ('text' or a number) in the IN list", v.pos, v);
        if (first === 0) first = v.pos;
        raws.push(v.value);
        const sep = next();
        if (sep.kind === 'rparen') break;
        if (sep.kind !== 'comma') throw filterError("expected ',' or ')' in the IN list", sep.pos, sep);
      }
      out.push({ field: f.value, op, value: values, pos: { field: f.pos, value: first }, raw: raws });
    } else {
      const v = next();
      if (v.kind !== 'string' && v.kind !== 'number') {
        const hint = keyword(v) === 'NULL' ? ' (NULL is not supported)' : v.kind === 'ident' ? ' (quote text values)' : '';
        throw filterError(`expected a value ('text' or a number)${hint}`, v.pos, v);
      }
      if (op === 'prefix') {
        if (v.kind !== 'string') throw filterError("LIKE takes a quoted pattern ('abc%')", v.pos, v);
        const like = likePattern(v);
        out.push({ field: f.value, op: like.op, value: like.value, pos: { field: f.pos, value: v.pos } });
      } else {
        const value = v.kind === 'number' ? Number(v.value) : v.value;
        out.push({ field: f.value, op, value, pos: { field: f.pos, value: v.pos }, ...(v.kind === 'number' ? { raw: v.value } : {}) });
      }
    }

    const sep = next();
    if (sep.kind === 'eof') return out;
    const skw = keyword(sep);
    if (skw === 'AND') continue;
    if (skw === 'OR') throw filterError('OR is not supported: conditions are combined with AND only', sep.pos, sep);
    throw filterError('expected AND or the end of the filter', sep.pos, sep);
  }
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function formatValue(v: string | number): string {
  return typeof v === 'number' ? formatNumber(v) : quote(v);
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new ModelStoreError('INVALID_ARGUMENT', `A filter number must be finite, got ${n}.`);
  return Object.is(n, -0) ? '-0' : String(n);
}

function formatField(field: string): string {
  const dot = field.indexOf('.');
  if (dot < 0 || /^[A-Za-z0-9_.-]+$/.test(field.slice(dot + 1))) return field;
  return `${field.slice(0, dot)}.\`${field.slice(dot + 1).replace(/`/g, '``')}\``;
}

/** Writes conditions as filter text that {@link parseFilter} reads back to the same conditions. */
export function formatFilter(conditions: readonly SearchCondition[]): string {
  return conditions
    .map((c) => {
      const field = formatField(c.field);
      if (c.op === 'in') {
        const list = Array.isArray(c.value) ? c.value : [c.value];
        return `${field} IN (${list.map(formatValue).join(', ')})`;
      }
      if (Array.isArray(c.value)) throw new ModelStoreError('INVALID_ARGUMENT', `Only IN takes a list of values (condition on ${c.field}).`);
      if (c.op === 'prefix') return `${field} LIKE ${quote(`${String(c.value).replace(/[\\%]/g, (x) => `\\${x}`)}%`)}`;
      return `${field} ${c.op} ${formatValue(c.value)}`;
    })
    .join(' AND ');
}
