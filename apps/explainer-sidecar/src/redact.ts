/**
 * Keeps the sidecar's internal addresses out of what callers see: error messages and model sources are passed
 * through a {@link Redactor} built from the configured model servers, which replaces every form of their address
 * (host:port, URLs) with a neutral name. The full address stays in the server's own log.
 */
import type { ModelSpec } from './models/types.js';

export class Redactor {
  private readonly secrets: string[];

  constructor(hosts: readonly string[]) {
    const forms = new Set<string>();
    for (const h of hosts) {
      const bare = h.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
      if (bare) forms.add(bare);
      if (h) forms.add(h);
    }
    // Longest first, so a URL is replaced whole before its host:port.
    this.secrets = [...forms].sort((a, b) => b.length - a.length);
  }

  static forModels(models: readonly ModelSpec[]): Redactor {
    return new Redactor(models.flatMap((m) => (m.kind === 'remote' ? [m.host] : [])));
  }

  apply(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('<model server>');
    return out;
  }
}
