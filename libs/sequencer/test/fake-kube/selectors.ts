/**
 * Label and field selectors as the Kubernetes API server parses them (the subset of
 * k8s.io/apimachinery/pkg/labels and pkg/fields that clients send): `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, comma-separated (AND). Field selectors take `=`, `==` and `!=` on dotted paths.
 */

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export class SelectorError extends Error {}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key) || key.length > 317) throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

function checkValue(value: string, whole: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new SelectorError(`unable to parse requirement: invalid label value "${value}" in "${whole}"`);
  return value;
}

export function parseLabelSelector(s: string | null | undefined): Requirement[] {
  if (!s) return [];
  return splitTop(s).map((part): Requirement => {
    let m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), part));
      return { key: checkKey(m[1]!, part), op: m[2] as 'in' | 'notin', values };
    }
    m = /^([^!=\s]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, part), op: m[2] === '!=' ? 'neq' : 'eq', value: checkValue(m[3]!.trim(), part) };
    m = /^!\s*(\S+)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, part), op: 'notexists' };
    if (/^\S+$/.test(part)) return { key: checkKey(part, part), op: 'exists' };
    throw new SelectorError(`unable to parse requirement: "${part}"`);
  });
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq':
        return has && v === r.value;
      case 'neq':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

export interface FieldRequirement {
  path: string;
  op: 'eq' | 'neq';
  value: string;
}

/**
 * Field selectors. `allowed` are the field paths the resource supports (the real server answers 400 for others:
 * `field label not supported: x`).
 */
export function parseFieldSelector(s: string | null | undefined, allowed: readonly string[]): FieldRequirement[] {
  if (!s) return [];
  return splitTop(s).map((part) => {
    const m = /^([^!=\s]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const path = m[1]!;
    if (!allowed.includes(path)) throw new SelectorError(`field label not supported: ${path}`);
    return { path, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]!.trim() } as FieldRequirement;
  });
}

export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === 'eq'));
}
