/**
 * Optional bearer-token auth. Tokens are configured with the models they may use ("*" = all). Without tokens
 * configured every call is allowed. Tokens are kept only as SHA-256 digests and looked up by digest.
 */
import { createHash } from 'node:crypto';
import { SidecarError } from './errors.js';

export interface TokenGrant {
  /** The bearer token. */
  token: string;
  /** Model names it may explain/describe; ["*"] = every model. */
  models: string[];
  /** Name for logs (never the token itself). */
  subject?: string;
}

export interface Principal {
  readonly subject: string;
  readonly models: ReadonlySet<string> | '*';
}

const ANONYMOUS: Principal = { subject: 'anonymous', models: '*' };

const digest = (t: string) => createHash('sha256').update(t).digest('hex');

export class Auth {
  private readonly grants = new Map<string, Principal>();

  constructor(tokens: readonly TokenGrant[] = []) {
    tokens.forEach((g, i) => {
      if (typeof g.token !== 'string' || g.token.length < 8) {
        throw new SidecarError('CONFIG', `auth token #${i + 1} must be a string of at least 8 characters`);
      }
      if (!Array.isArray(g.models) || g.models.length === 0) {
        throw new SidecarError('CONFIG', `auth token #${i + 1} needs "models": a list of model names or ["*"]`);
      }
      this.grants.set(digest(g.token), {
        subject: g.subject ?? `token-${i + 1}`,
        models: g.models.includes('*') ? '*' : new Set(g.models),
      });
    });
  }

  get enabled(): boolean {
    return this.grants.size > 0;
  }

  /** Checks an `authorization` header value ("Bearer <token>"). */
  authenticate(header: string | undefined): Principal {
    if (!this.enabled) return ANONYMOUS;
    if (!header) throw new SidecarError('UNAUTHENTICATED', 'missing bearer token: send the header "authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new SidecarError('UNAUTHENTICATED', 'malformed authorization header: expected "Bearer <token>"');
    const p = this.grants.get(digest(m[1]!));
    if (!p) throw new SidecarError('UNAUTHENTICATED', 'unknown bearer token');
    return p;
  }

  canUse(p: Principal, model: string): boolean {
    return p.models === '*' || p.models.has(model);
  }

  authorize(p: Principal, model: string): void {
    if (!this.canUse(p, model)) {
      throw new SidecarError('PERMISSION_DENIED', `token "${p.subject}" may not use model "${model}"`);
    }
  }
}
