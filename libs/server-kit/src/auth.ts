/**
 * Optional bearer-token auth shared by every Genome server. One tokens file serves the whole platform: each grant
 * names the models it covers (`models`, "*" = all) and what it may do with them (`scopes`, "*" = everything; e.g.
 * "explain", "store:read", "store:write", "pipelines:read", "pipelines:write"). With no grants configured every
 * call is allowed. Tokens are kept only as SHA-256 digests and looked up by digest.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ServerKitError } from './errors.js';

export interface TokenGrant {
  /** The bearer token (at least 8 characters). */
  token: string;
  /** Model names it covers; ["*"] = every model. Default ["*"]. */
  models?: string[];
  /** Operations it may perform; ["*"] = every operation. Default ["*"]. */
  scopes?: string[];
  /** Name for logs and records (never the token itself). */
  subject?: string;
}

export interface Principal {
  readonly subject: string;
  readonly models: ReadonlySet<string> | '*';
  readonly scopes: ReadonlySet<string> | '*';
}

const ANONYMOUS: Principal = { subject: 'anonymous', models: '*', scopes: '*' };

const digest = (t: string) => createHash('sha256').update(t).digest('hex');

function list(v: unknown, i: number, field: 'models' | 'scopes'): ReadonlySet<string> | '*' {
  if (v === undefined) return '*';
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) {
    throw new ServerKitError('CONFIG', `auth token #${i + 1}: "${field}" must be a non-empty list of names, or ["*"]`);
  }
  return v.includes('*') ? '*' : new Set(v as string[]);
}

export class TokenAuth {
  private readonly grants = new Map<string, Principal>();

  constructor(tokens: readonly TokenGrant[] = []) {
    tokens.forEach((g, i) => {
      if (g === null || typeof g !== 'object') throw new ServerKitError('CONFIG', `auth token #${i + 1} must be an object {"token": "...", "models": [...], "scopes": [...]}`);
      if (typeof g.token !== 'string' || g.token.length < 8) {
        throw new ServerKitError('CONFIG', `auth token #${i + 1} must be a string of at least 8 characters`);
      }
      this.grants.set(digest(g.token), { subject: g.subject ?? `token-${i + 1}`, models: list(g.models, i, 'models'), scopes: list(g.scopes, i, 'scopes') });
    });
  }

  get enabled(): boolean {
    return this.grants.size > 0;
  }

  /** Checks an `authorization` header value ("Bearer <token>"). */
  authenticate(header: string | undefined): Principal {
    if (!this.enabled) return ANONYMOUS;
    if (!header) throw new ServerKitError('UNAUTHENTICATED', 'missing bearer token: send the header "authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ServerKitError('UNAUTHENTICATED', 'malformed authorization header: expected "Bearer <token>"');
    const p = this.grants.get(digest(m[1]!));
    if (!p) throw new ServerKitError('UNAUTHENTICATED', 'unknown bearer token');
    return p;
  }

  canUse(p: Principal, model: string): boolean {
    return p.models === '*' || p.models.has(model);
  }

  /** Throws PERMISSION_DENIED unless the grant covers `model`. */
  authorize(p: Principal, model: string): void {
    if (!this.canUse(p, model)) throw new ServerKitError('PERMISSION_DENIED', `token "${p.subject}" may not use model "${model}"`);
  }

  can(p: Principal, scope: string): boolean {
    return p.scopes === '*' || p.scopes.has(scope);
  }

  /** Throws PERMISSION_DENIED unless the grant holds `scope`. */
  require(p: Principal, scope: string): void {
    if (!this.can(p, scope)) throw new ServerKitError('PERMISSION_DENIED', `token "${p.subject}" lacks the scope "${scope}"; grant it in the tokens file`);
  }
}

/** Reads a tokens file: `[{"token", "models"?, "scopes"?, "subject"?}, ...]` or `{"tokens": [...]}`. */
export function readTokenGrants(path: string): TokenGrant[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ServerKitError('CONFIG', `cannot read auth tokens file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const grants = Array.isArray(raw) ? raw : (raw as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(grants)) throw new ServerKitError('CONFIG', `auth tokens file ${path} must hold [{"token": "...", "models": ["*"], "scopes": ["*"]}, ...]`);
  return grants as TokenGrant[];
}
