/**
 * A fake Kubernetes API server for tests: a real node:http server on a free port that speaks enough of the real API
 * for `@kubernetes/client-node` and the real `kubectl` (get, describe, logs):
 *
 * - legacy discovery (/api, /apis, /api/v1, /apis/batch/v1, /version);
 * - batch/v1 Jobs (create, get, list, watch, delete with propagationPolicy: Background, Foreground, and Orphan,
 *   batch/v1's default) and v1 Pods (create, get, list, watch, delete, `/log` with container, tailLines, follow,
 *   limitBytes, timestamps), v1 Events (get, list, watch) and Namespaces;
 * - list with resourceVersion, limit and continue; label and field selectors; watch from a resourceVersion with
 *   replay from the event history, bookmarks (allowWatchBookmarks), timeoutSeconds, and 410 Gone (as an ERROR
 *   event, or as an HTTP 410 when `goneMode: 'status'`) once the history was compacted past it;
 * - server-side printing: a meta.k8s.io/v1 Table when the client asks for one (`kubectl get`);
 * - create-time defaulting and validation (422 Invalid with causes), 404/409 Status objects, bearer-token auth;
 * - a simulated control plane ({@link Controller}) with per-pod scenarios picked by image, by Job or by a function.
 *
 * Test hooks: `dropWatches()` closes every open watch, `expireWatches()` also makes every resourceVersion the clients
 * have seen too old, `failNextWatches(n)` answers the next watch requests with an error, `requests` and `deletions`
 * record what clients sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Store, clone, now, type HistoryEntry, type Obj } from './store.js';
import { Controller, type PodScenario } from './controller.js';
import { RESOURCES, apiGroup, apiGroupList, apiVersionOf, apiVersions, findResource, resourceList, VERSION, type ResourceDef } from './resources.js';
import { SelectorError, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type Requirement } from './selectors.js';
import { toTable, wantsTable } from './table.js';
import { defaultJob, defaultPodSpec, invalidStatus, validateJob, validatePod } from './validation.js';

export type { PodScenario } from './controller.js';
export type { Obj } from './store.js';

export interface FakeKubeOptions {
  /** Namespaces that exist (default ['default']); creating in another one answers 404 like a real cluster. */
  namespaces?: string[];
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Milliseconds per simulated second for activeDeadlineSeconds and ttlSecondsAfterFinished (default 1000). */
  secondMs?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Events kept for watch replay before the oldest are compacted away (default 10000). */
  historyLimit?: number;
  /** The scenario of pods no rule matches (default: run 20 ms, exit 0). */
  defaultScenario?: PodScenario;
  /** Scenarios by container image (the first container's). */
  images?: Record<string, PodScenario>;
  /** How a watch from a compacted resourceVersion is refused: an ERROR event with a 410 Status (default), or HTTP 410. */
  goneMode?: 'event' | 'status';
  /** Delay before a failed pod is replaced while backoffLimit allows (default 5 ms). */
  retryDelayMs?: number;
  /** How long a deleted running pod takes to terminate (default 5 ms). */
  terminationMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  accept?: string;
  userAgent?: string;
  body?: Obj;
}

interface Watcher {
  def: ResourceDef;
  namespace?: string;
  labels: Requirement[];
  fields: FieldRequirement[];
  res: ServerResponse;
  timers: NodeJS.Timeout[];
  closed: boolean;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable', 409: 'AlreadyExists', 410: 'Expired', 422: 'Invalid', 500: 'InternalError', 503: 'ServiceUnavailable' };

function statusObject(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

function notFound(def: ResourceDef, name: string): HttpError {
  return new HttpError(404, 'NotFound', `${qualifiedResource(def)} ${JSON.stringify(name)} not found`, { name, group: def.group || undefined, kind: def.plural });
}

function nameSuffix(): string {
  const a = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => a[b % a.length]).join('');
}

export class FakeKube {
  readonly store: Store;
  readonly controller: Controller;
  /** Every request, in order (bodies of POST and DELETE parsed). */
  readonly requests: RecordedRequest[] = [];
  /** Every delete of a Job or Pod with the propagation policy it asked for (undefined: the resource's default). */
  readonly deletions: { plural: string; namespace: string; name: string; propagationPolicy?: string }[] = [];
  url = '';
  port = 0;
  private readonly server: Server;
  private readonly watchers = new Set<Watcher>();
  private readonly rules: { match: (job: Obj | undefined, pod: Obj) => boolean; scenario: PodScenario }[] = [];
  private failWatches: { count: number; code: number }[] = [];
  private readonly opts: Required<Pick<FakeKubeOptions, 'bookmarkIntervalMs' | 'goneMode'>> & FakeKubeOptions;

  private constructor(options: FakeKubeOptions) {
    this.opts = { bookmarkIntervalMs: 1000, goneMode: 'event', ...options };
    this.store = new Store(options.historyLimit);
    for (const ns of options.namespaces ?? ['default']) this.createNamespace(ns);
    this.controller = new Controller(this.store, {
      secondMs: options.secondMs ?? 1000,
      retryDelayMs: options.retryDelayMs ?? 5,
      terminationMs: options.terminationMs ?? 5,
      nodeName: 'fake-node',
      scenarioFor: (job, pod) => this.scenarioFor(job, pod),
      dropWatches: (mode) => this.dropWatches(mode),
    });
    this.store.onChange((e) => this.broadcast(e));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.sendError(res, e);
        else res.destroy();
      });
    });
  }

  /** Starts a fake API server on 127.0.0.1 and a free port. */
  static async start(options: FakeKubeOptions = {}): Promise<FakeKube> {
    const f = new FakeKube(options);
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    f.port = (f.server.address() as AddressInfo).port;
    f.url = `http://127.0.0.1:${f.port}`;
    return f;
  }

  async stop(): Promise<void> {
    this.controller.stop();
    this.dropWatches('end');
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  createNamespace(name: string): void {
    if (this.store.get('namespaces', undefined, name)) return;
    this.store.create('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  // ---- scenarios ----------------------------------------------------------------------------------------------

  /** Pods whose first container runs `image` follow `scenario`. */
  onImage(image: string, scenario: PodScenario): this {
    this.rules.push({ match: (_job, pod) => pod.spec?.containers?.[0]?.image === image, scenario });
    return this;
  }

  /** Pods of Jobs matching `match` (a name, a RegExp on the name, or a predicate) follow `scenario`. */
  onJob(match: string | RegExp | ((job: Obj) => boolean), scenario: PodScenario): this {
    const test = typeof match === 'string' ? (j: Obj) => j.metadata.name === match : match instanceof RegExp ? (j: Obj) => match.test(j.metadata.name) : match;
    this.rules.push({ match: (job) => job !== undefined && test(job), scenario });
    return this;
  }

  private scenarioFor(job: Obj | undefined, pod: Obj): PodScenario {
    for (let i = this.rules.length - 1; i >= 0; i--) if (this.rules[i]!.match(job, pod)) return this.rules[i]!.scenario;
    const image = pod.spec?.containers?.[0]?.image;
    if (image && this.opts.images?.[image]) return this.opts.images[image]!;
    return this.opts.defaultScenario ?? {};
  }

  // ---- test hooks ---------------------------------------------------------------------------------------------

  /** Number of watch connections open now, optionally of one resource ('jobs', 'pods'). */
  openWatches(plural?: string): number {
    return [...this.watchers].filter((w) => !w.closed && (plural === undefined || w.def.plural === plural)).length;
  }

  /** Closes every open watch connection: cleanly ('end', like an API server's timeout) or by resetting it. */
  dropWatches(mode: 'end' | 'destroy' = 'end'): number {
    const ws = [...this.watchers];
    for (const w of ws) this.closeWatcher(w, mode);
    return ws.length;
  }

  /**
   * Drops every watch and makes every resourceVersion handed out so far too old (a change, then a compaction), so
   * each client's next watch from where it was gets 410 Gone and it must list again.
   */
  expireWatches(): void {
    this.dropWatches('end');
    this.store.mutate('namespaces', undefined, 'default', (n) => {
      n.metadata.annotations = { ...(n.metadata.annotations ?? {}), 'fake.genome.ai/compactions': String(Number(n.metadata.annotations?.['fake.genome.ai/compactions'] ?? 0) + 1) };
    });
    this.store.compact();
  }

  /** Answers the next `count` watch requests with HTTP `code` (default 500) instead of a stream. */
  failNextWatches(count: number, code = 500): void {
    this.failWatches.push({ count, code });
  }

  get(plural: 'jobs' | 'pods' | 'events', namespace: string, name: string): Obj | undefined {
    return this.store.get(plural, namespace, name);
  }

  list(plural: 'jobs' | 'pods' | 'events', namespace?: string): Obj[] {
    return this.store.list(plural, namespace);
  }

  /** Resolves when `pred` holds (checked on every change of the store and every 5 ms). */
  until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(t);
        clearInterval(poll);
        off();
        if (err) reject(err);
        else resolve();
      };
      const test = (): void => {
        if (pred()) finish();
      };
      const t = setTimeout(() => finish(new Error(`fake-kube: condition not reached in ${timeoutMs} ms`)), timeoutMs);
      const poll = setInterval(test, 5);
      const off = this.store.onChange(test);
    });
  }

  /** A kubeconfig (YAML) whose current context points at this server (plain HTTP, so TLS verification is off). */
  kubeconfig(options: { namespace?: string; token?: string; context?: string } = {}): string {
    const ctx = options.context ?? 'fake';
    const token = options.token ?? this.opts.token;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${ctx}`,
      '  cluster:',
      `    server: ${this.url}`,
      // Plain HTTP: client-node 2.x refuses an http:// server unless TLS verification is off.
      '    insecure-skip-tls-verify: true',
      'contexts:',
      `- name: ${ctx}`,
      '  context:',
      `    cluster: ${ctx}`,
      `    user: ${ctx}`,
      ...(options.namespace ? [`    namespace: ${options.namespace}`] : []),
      `current-context: ${ctx}`,
      'preferences: {}',
      'users:',
      `- name: ${ctx}`,
      token ? `  user:\n    token: ${token}` : '  user: {}',
      '',
    ].join('\n');
  }

  /** Writes {@link kubeconfig} to `dir/kubeconfig` and returns the path. */
  writeKubeconfig(dir: string, options: { namespace?: string; token?: string } = {}): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, this.kubeconfig(options), { mode: 0o600 });
    return path;
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    if (e instanceof HttpError) {
      this.sendJson(res, e.code, statusObject(e.code, e.reason, e.message, e.details));
    } else if (e instanceof SelectorError) {
      this.sendJson(res, 400, statusObject(400, 'BadRequest', e.message));
    } else {
      this.sendJson(res, 500, statusObject(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`));
    }
  }

  private async readBody(req: IncomingMessage): Promise<Obj | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length === 0) return undefined;
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as Obj;
    } catch (e) {
      throw new HttpError(400, 'BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(e as Error).message})`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = url.searchParams;
    const method = req.method ?? 'GET';
    const body = method === 'POST' || method === 'PUT' || method === 'DELETE' || method === 'PATCH' ? await this.readBody(req) : undefined;
    this.requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(query),
      ...(req.headers.accept ? { accept: req.headers.accept } : {}),
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      ...(body ? { body } : {}),
    });
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
    const accept = req.headers.accept;
    if (accept && !/application\/json|\*\/\*|application\/\*|text\/plain/.test(accept)) {
      throw new HttpError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    }
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const p = seg.join('/');
    if (method === 'GET') {
      if (p === 'version') return this.sendJson(res, 200, VERSION);
      if (p === 'healthz' || p === 'livez' || p === 'readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void res.end('ok');
      }
      if (p === 'api') return this.sendJson(res, 200, apiVersions(`127.0.0.1:${this.port}`));
      if (p === 'apis') return this.sendJson(res, 200, apiGroupList());
      if (p === 'api/v1') return this.sendJson(res, 200, resourceList(''));
      if (seg[0] === 'apis' && seg.length === 2) {
        const g = apiGroup(seg[1]!);
        if (g) return this.sendJson(res, 200, g);
      }
      if (p === 'apis/batch/v1') return this.sendJson(res, 200, resourceList('batch'));
    }
    let group: '' | 'batch';
    let rest: string[];
    if (seg[0] === 'api' && seg[1] === 'v1') {
      group = '';
      rest = seg.slice(2);
    } else if (seg[0] === 'apis' && seg[1] === 'batch' && seg[2] === 'v1') {
      group = 'batch';
      rest = seg.slice(3);
    } else {
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    }
    // /namespaces/{ns}/{plural}[/{name}[/{sub}]], /{plural}[/{name}[/{sub}]]
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const def = findResource(group, rest[0] ?? '');
    if (!def || rest.length > 3) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    const name = rest[1];
    const sub = rest[2];
    if (def.namespaced && name !== undefined && namespace === undefined) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    if (!def.namespaced && namespace !== undefined) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub !== undefined) {
      if (method === 'GET' && def.plural === 'pods' && sub === 'log') return this.podLog(req, res, namespace!, name!, query);
      if (method === 'GET' && sub === 'status') return this.sendJson(res, 200, this.getOne(def, namespace, name!));
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    }
    switch (method) {
      case 'GET':
        if (name !== undefined) {
          const o = this.getOne(def, namespace, name);
          if (wantsTable(accept)) return this.sendJson(res, 200, toTable(def.plural, [o], o.metadata.resourceVersion, query.get('includeObject')));
          return this.sendJson(res, 200, o);
        }
        if (query.get('watch') === 'true' || query.get('watch') === '1') return this.watch(res, def, namespace, query);
        return this.serveList(res, def, namespace, query, accept);
      case 'POST':
        if (name !== undefined) throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
        return this.create(res, def, namespace, body, query);
      case 'DELETE':
        if (name === undefined) throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource (deletecollection is not implemented by the fake)');
        return this.remove(res, def, namespace!, name, body, query);
      default:
        throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} is not implemented by the fake)`);
    }
  }

  private getOne(def: ResourceDef, namespace: string | undefined, name: string): Obj {
    const o = this.store.get(def.plural, namespace, name);
    if (!o) throw notFound(def, name);
    return o;
  }

  private selectors(def: ResourceDef, query: URLSearchParams): { labels: Requirement[]; fields: FieldRequirement[] } {
    return { labels: parseLabelSelector(query.get('labelSelector')), fields: parseFieldSelector(query.get('fieldSelector'), def.fields) };
  }

  private serveList(res: ServerResponse, def: ResourceDef, namespace: string | undefined, query: URLSearchParams, accept: string | undefined): void {
    const { labels, fields } = this.selectors(def, query);
    const rvParam = query.get('resourceVersion');
    if (rvParam && query.get('resourceVersionMatch') === 'Exact' && Number(rvParam) !== this.store.rv) {
      if (Number(rvParam) < this.store.compactedRv) throw new HttpError(410, 'Expired', `too old resource version: ${rvParam} (${this.store.compactedRv})`);
      throw new HttpError(500, 'InternalError', 'the fake serves lists at the current resourceVersion only');
    }
    let items = this.store.list(def.plural, namespace).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    const rv = String(this.store.rv);
    let start = 0;
    const cont = query.get('continue');
    let listRv = rv;
    if (cont) {
      try {
        const c = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: string; start: number };
        start = c.start;
        listRv = c.rv;
      } catch {
        throw new HttpError(400, 'BadRequest', 'continue key is not valid: illegal base64 data');
      }
    }
    const limit = Number(query.get('limit') ?? 0);
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && items.length - start > limit) {
      next = Buffer.from(JSON.stringify({ rv: listRv, start: start + limit })).toString('base64url');
      remaining = items.length - start - limit;
    }
    items = items.slice(start, limit > 0 ? start + limit : undefined);
    if (wantsTable(accept)) {
      const t = toTable(def.plural, items, listRv, query.get('includeObject'));
      if (next) t.metadata = { ...t.metadata, continue: next, remainingItemCount: remaining };
      return this.sendJson(res, 200, t);
    }
    for (const o of items) {
      delete o.kind;
      delete o.apiVersion;
    }
    this.sendJson(res, 200, {
      kind: `${def.kind}List`,
      apiVersion: apiVersionOf(def),
      metadata: { resourceVersion: listRv, ...(next ? { continue: next, remainingItemCount: remaining } : {}) },
      items,
    });
  }

  private async create(res: ServerResponse, def: ResourceDef, namespace: string | undefined, body: Obj | undefined, query: URLSearchParams): Promise<void> {
    if (!body || typeof body !== 'object') throw new HttpError(400, 'BadRequest', 'the body of the request was empty');
    const obj = clone(body);
    obj.apiVersion ??= apiVersionOf(def);
    obj.kind ??= def.kind;
    if (obj.apiVersion !== apiVersionOf(def) || obj.kind !== def.kind) {
      throw new HttpError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`);
    }
    obj.metadata ??= {};
    if (def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    }
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${nameSuffix()}`;
    delete obj.metadata.uid;
    delete obj.metadata.resourceVersion;
    delete obj.metadata.creationTimestamp;
    delete obj.metadata.deletionTimestamp;
    if (def.plural !== 'pods' && def.plural !== 'jobs' && def.plural !== 'namespaces') {
      throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (the fake creates pods, jobs and namespaces)`);
    }
    if (def.namespaced && !this.store.get('namespaces', undefined, namespace!)) throw new HttpError(404, 'NotFound', `namespaces ${JSON.stringify(namespace)} not found`, { name: namespace, kind: 'namespaces' });
    const uid = randomUUID();
    let errs: ReturnType<typeof validateJob> = [];
    if (def.plural === 'jobs') {
      errs = validateJob(obj);
      if (errs.length === 0) defaultJob(obj, uid);
    } else if (def.plural === 'pods') {
      errs = validatePod(obj);
      if (errs.length === 0) {
        defaultPodSpec(obj.spec);
        obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      }
    } else {
      obj.status = { phase: 'Active' };
    }
    if (errs.length) return this.sendJson(res, 422, invalidStatus(def.kind, def.group, obj.metadata.name ?? '', errs));
    if (this.store.get(def.plural, namespace, obj.metadata.name)) {
      throw new HttpError(409, 'AlreadyExists', `${qualifiedResource(def)} ${JSON.stringify(obj.metadata.name)} already exists`, { name: obj.metadata.name, group: def.group || undefined, kind: def.plural });
    }
    obj.metadata.uid = uid;
    if (query.get('dryRun') === 'All') {
      obj.metadata.creationTimestamp = now();
      return this.sendJson(res, 201, obj);
    }
    this.sendJson(res, 201, this.store.create(def.plural, obj));
  }

  private remove(res: ServerResponse, def: ResourceDef, namespace: string, name: string, body: Obj | undefined, query: URLSearchParams): void {
    if (def.plural !== 'jobs' && def.plural !== 'pods') throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource (the fake deletes jobs and pods)');
    const policy: string | undefined = body?.propagationPolicy ?? query.get('propagationPolicy') ?? (body?.orphanDependents === true ? 'Orphan' : body?.orphanDependents === false ? 'Background' : undefined);
    if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
      throw new HttpError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`);
    }
    const existing = this.store.get(def.plural, namespace, name);
    if (!existing) throw notFound(def, name);
    const pre = body?.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid) {
      throw new HttpError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`);
    }
    this.deletions.push({ plural: def.plural, namespace, name, ...(policy ? { propagationPolicy: policy } : {}) });
    if (def.plural === 'pods') {
      const marked = this.controller.deletePod(namespace, name);
      return this.sendJson(res, 200, marked ?? existing);
    }
    // batch/v1 Jobs orphan their pods when the request names no policy (kept for compatibility by the real server).
    const out = this.controller.deleteJob(namespace, name, (policy ?? 'Orphan') as 'Background' | 'Foreground' | 'Orphan')!;
    if (out.finalized) {
      return this.sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'batch', kind: 'jobs', uid: existing.metadata.uid } });
    }
    this.sendJson(res, 200, out.object);
  }

  // ---- watch --------------------------------------------------------------------------------------------------

  private matches(w: Watcher, o: Obj | undefined): boolean {
    if (!o) return false;
    if (w.namespace !== undefined && o.metadata.namespace !== w.namespace) return false;
    return matchesLabels(w.labels, o.metadata.labels) && matchesFields(w.fields, o);
  }

  /** The watch event `w` sees for a change, if any (an object leaving the selector is DELETED for it). */
  private eventFor(w: Watcher, e: HistoryEntry): { type: string; object: Obj } | undefined {
    if (e.plural !== w.def.plural) return undefined;
    const was = this.matches(w, e.previous);
    const is = this.matches(w, e.object);
    if (e.type === 'ADDED') return is ? { type: 'ADDED', object: e.object } : undefined;
    if (e.type === 'DELETED') return was ? { type: 'DELETED', object: e.object } : undefined;
    if (was && is) return { type: 'MODIFIED', object: e.object };
    if (!was && is) return { type: 'ADDED', object: e.object };
    if (was && !is) return { type: 'DELETED', object: e.object };
    return undefined;
  }

  private write(w: Watcher, ev: { type: string; object: Obj }): void {
    if (w.closed) return;
    w.res.write(`${JSON.stringify(ev)}\n`);
  }

  private broadcast(e: HistoryEntry): void {
    for (const w of this.watchers) {
      const ev = this.eventFor(w, e);
      if (ev) this.write(w, ev);
    }
  }

  private closeWatcher(w: Watcher, mode: 'end' | 'destroy'): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    for (const t of w.timers) clearTimeout(t);
    if (mode === 'destroy') w.res.destroy();
    else w.res.end();
  }

  private watch(res: ServerResponse, def: ResourceDef, namespace: string | undefined, query: URLSearchParams): void {
    const fail = this.failWatches[0];
    if (fail) {
      if (--fail.count <= 0) this.failWatches.shift();
      throw new HttpError(fail.code, REASONS[fail.code] ?? 'InternalError', `fake-kube: watch refused (failNextWatches, ${fail.code})`);
    }
    const { labels, fields } = this.selectors(def, query);
    const rvParam = query.get('resourceVersion');
    const w: Watcher = { def, ...(namespace !== undefined ? { namespace } : {}), labels, fields, res, timers: [], closed: false };
    let initial: { type: string; object: Obj }[];
    if (rvParam && rvParam !== '0') {
      const n = Number(rvParam);
      if (!Number.isInteger(n) || n < 0) throw new HttpError(400, 'BadRequest', `resourceVersion: Invalid value: ${JSON.stringify(rvParam)}: must be a valid resourceVersion`);
      if (n < this.store.compactedRv) {
        const message = `too old resource version: ${n} (${this.store.compactedRv})`;
        if (this.opts.goneMode === 'status') throw new HttpError(410, 'Expired', message);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', message) })}\n`);
        return;
      }
      initial = [];
      for (const e of this.store.history) {
        if (e.rv <= n) continue;
        const ev = this.eventFor(w, e);
        if (ev) initial.push(ev);
      }
    } else {
      initial = this.store.list(def.plural, namespace).filter((o) => this.matches(w, o)).map((object) => ({ type: 'ADDED', object }));
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    this.watchers.add(w);
    for (const ev of initial) this.write(w, ev);
    res.on('close', () => this.closeWatcher(w, 'end'));
    if (query.get('allowWatchBookmarks') === 'true') {
      const tick = (): void => {
        this.write(w, { type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.store.rv) } } });
        w.timers.push(setTimeout(tick, this.opts.bookmarkIntervalMs));
      };
      w.timers.push(setTimeout(tick, this.opts.bookmarkIntervalMs));
    }
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    if (timeoutSeconds > 0) w.timers.push(setTimeout(() => this.closeWatcher(w, 'end'), timeoutSeconds * 1000));
  }

  // ---- logs ---------------------------------------------------------------------------------------------------

  private podLog(req: IncomingMessage, res: ServerResponse, namespace: string, name: string, query: URLSearchParams): void {
    const pod = this.store.get('pods', namespace, name);
    const def = RESOURCES.find((r) => r.plural === 'pods')!;
    if (!pod) throw notFound(def, name);
    const containers: Obj[] = pod.spec.containers ?? [];
    let container = query.get('container');
    if (!container) {
      if (containers.length !== 1) {
        throw new HttpError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
      }
      container = containers[0]!.name as string;
    }
    const status = (pod.status.containerStatuses ?? []).find((c: Obj) => c.name === container);
    if (!containers.some((c) => c.name === container)) throw new HttpError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    if (!pod.spec.nodeName) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return void res.end();
    }
    const log = this.controller.podLog(pod.metadata.uid);
    if (!log) {
      const waiting = status?.state?.waiting;
      const why = waiting?.reason === 'ImagePullBackOff' || waiting?.reason === 'ErrImagePull' ? 'trying and failing to pull image' : (waiting?.reason ?? 'ContainerCreating');
      throw new HttpError(400, 'BadRequest', `container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: ${why}`);
    }
    const render = (text: string): string => {
      let lines = text.split('\n');
      const trailing = lines[lines.length - 1] === '';
      if (trailing) lines.pop();
      const tail = query.get('tailLines');
      if (tail !== null) {
        const n = Number(tail);
        if (!Number.isInteger(n) || n < 0) throw new HttpError(422, 'Invalid', `PodLogOptions "" is invalid: tailLines: Invalid value: ${tail}: must be greater than or equal to 0`);
        lines = n === 0 ? [] : lines.slice(-n);
      }
      if (query.get('timestamps') === 'true') lines = lines.map((l) => `${log.startedAt?.replace('Z', '.000000000Z')} ${l}`);
      let out = lines.join('\n') + (lines.length && trailing ? '\n' : '');
      const limit = query.get('limitBytes');
      if (limit !== null) out = Buffer.from(out).subarray(0, Number(limit)).toString('utf8');
      return out;
    };
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.write(render(log.text));
    if (query.get('follow') !== 'true' || log.done) return void res.end();
    // Following: whatever the container writes from now on, as it comes.
    let rawLen = log.text.length;
    const stamp = (text: string): string =>
      query.get('timestamps') === 'true' ? text.replace(/^(?=.)/gm, `${new Date().toISOString().replace('Z', '000000Z')} `) : text;
    const onChange = (): void => {
      if (log.text.length > rawLen) res.write(stamp(log.text.slice(rawLen)));
      rawLen = log.text.length;
      if (log.done) {
        log.listeners.delete(onChange);
        res.end();
      }
    };
    log.listeners.add(onChange);
    req.on('close', () => log.listeners.delete(onChange));
  }
}
