/**
 * Per-model grants over the store: a token whose grant lists models (`"models": ["fraud"]`) sees and changes only
 * those models; operations that span every model (blob reads by address, garbage collection) need `["*"]`.
 * Scopes (`store:read`, `store:write`) are checked by the server shell before a handler runs.
 */
import { parseRef, type StoreEvent, type VersionRef } from '@genome/model-store';
import { ServerKitError, type Principal, type TokenAuth } from '@genome/server-kit';

export const READ = 'store:read';
export const WRITE = 'store:write';

export class StoreAccess {
  constructor(private readonly auth: TokenAuth) {}

  /** True when the grant covers every model. */
  all(p: Principal): boolean {
    return p.models === '*';
  }

  sees(p: Principal, name: string): boolean {
    return this.auth.canUse(p, name);
  }

  /** PERMISSION_DENIED unless the grant covers `name`. */
  model(p: Principal, name: string): void {
    this.auth.authorize(p, name);
  }

  /** PERMISSION_DENIED unless the grant covers the model a reference names (the reference is parsed: INVALID_ARGUMENT when malformed). */
  ref(p: Principal, ref: VersionRef): void {
    this.auth.authorize(p, parseRef(ref).name);
  }

  /** PERMISSION_DENIED unless the grant covers every model (`what` names the operation). */
  everything(p: Principal, what: string): void {
    if (!this.all(p)) {
      throw new ServerKitError('PERMISSION_DENIED', `token "${p.subject}" is limited to some models; ${what} needs a grant for every model ("models": ["*"])`);
    }
  }

  /** Whether the caller may see an event (lineage events, which name no model, only with a grant for every model). */
  event(p: Principal, e: StoreEvent): boolean {
    return e.type === 'lineage-recorded' ? this.all(p) : this.sees(p, e.name);
  }
}
