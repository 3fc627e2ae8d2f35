/** The single method registry: method name -> explainer. Other explainers plug in with `register`. */
import { SidecarError } from '../errors.js';
import type { LoadedModel } from '../models/types.js';
import type { ExplainMethod } from './types.js';

export class MethodRegistry {
  private readonly methods = new Map<string, ExplainMethod>();

  constructor(methods: Iterable<ExplainMethod> = []) {
    for (const m of methods) this.register(m);
  }

  /** Adds (or replaces) a method. Names are lower_snake_case. */
  register(method: ExplainMethod): this {
    if (!/^[a-z][a-z0-9_]*$/.test(method.name)) {
      throw new SidecarError('CONFIG', `method name "${method.name}" must be lower_snake_case`);
    }
    this.methods.set(method.name, method);
    return this;
  }

  get(name: string): ExplainMethod {
    const m = this.methods.get(name);
    if (!m) {
      throw new SidecarError(
        'UNKNOWN_METHOD',
        `unknown method "${name}"; this server knows: ${[...this.methods.keys()].join(', ') || '(none)'}`,
      );
    }
    return m;
  }

  names(): string[] {
    return [...this.methods.keys()];
  }

  /** Methods that can explain `model`, in registration order (the first is the default). */
  applicable(model: LoadedModel): string[] {
    return [...this.methods.values()]
      .filter((m) => m.inputs.includes(model.description.kind) && m.unsupportedReason(model) === null)
      .map((m) => m.name);
  }
}
