/**
 * Configuration: embedded defaults < JSON config file < environment (GENOME_SIDECAR_*) < command-line flags.
 * Each layer overrides single keys; `models` is replaced as a whole by the highest layer that sets any model.
 * KServe's explainer flags (--model_name, --predictor_host, --predictor_protocol, --http_port, --workers,
 * --storage_uri, --predictor_use_ssl, --predictor_request_timeout_seconds) are accepted as aliases.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { XGBoostIterationRange } from '@genome/model-format';
import { parseRef } from '@genome/model-store';
import { boolOption, intOption, readTokenGrants, scanFlags, tlsOf, type CliOption, type TlsFiles, type TokenGrant } from '@genome/server-kit';
import { SidecarError } from './errors.js';
import type { ModelSpec } from './models/types.js';

export interface SidecarConfig {
  /** Interface to listen on. */
  host: string;
  /** gRPC port (0 = any free port). */
  grpcPort: number;
  /** REST port (0 = any free port, -1 = no REST server). */
  httpPort: number;
  /** Models to serve; the first is the default. Empty = the example package shipped in the repo. */
  models: ModelSpec[];
  /** Explain calls running at once. */
  maxConcurrency: number;
  /**
   * Explain calls running at once for one model (0 = half of maxConcurrency, rounded up), so a slow or hung model
   * server cannot take every slot from the other models.
   */
  maxConcurrencyPerModel: number;
  /** Largest sample or evaluation count a method parameter may ask for (nsamples, max_evals, num_samples, ...). */
  maxSamples: number;
  /** Model rows one unary call (or one ExplainStream message) may make the model evaluate. */
  maxModelRows: number;
  /** Synchronous operations per explained row (sample matrices, regression fits) a call may need. */
  maxRowOps: number;
  /** Most marks one Visualize chart may draw (rows x features shown, weighted by the chart's cost per mark). */
  maxChartMarks: number;
  /** Largest PNG one Visualize call may produce, in pixels. */
  maxPngPixels: number;
  /** How long startup waits for a remote model server before serving that model as not ready, ms. */
  remoteStartupWaitMs: number;
  /** Explain calls waiting for a slot before RESOURCE_EXHAUSTED. */
  maxQueue: number;
  /** Largest request/response message (gRPC) and request body (REST), bytes. */
  maxMessageBytes: number;
  /** Largest number of rows/texts/images per request. */
  maxRows: number;
  /** Rows per internal chunk of a unary call: cancellation granularity. */
  chunkRows: number;
  /** Rows per ExplainStream message when the request says 0. */
  streamChunkRows: number;
  /** TreeSHAP worker threads (0 = TreeSHAP runs on the event-loop thread). */
  treeWorkers: number;
  /** TreeSHAP calls (chunks) with at least this many rows go to the worker pool; smaller ones run in-process. */
  treePoolMinRows: number;
  /** Deadline for calls that carry none, ms. */
  defaultDeadlineMs: number;
  /** Time to let in-flight calls finish after SIGTERM before they are cancelled, ms. */
  shutdownGraceMs: number;
  tls?: TlsFiles;
  /** Bearer tokens; none = auth off. */
  authTokens: TokenGrant[];
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
  /** Directory holding genome/explain/v1/explainer.proto (served by reflection). */
  protoDir: string;
  /** The model store that `store://` models come from (see README, Serving from the model store). */
  store: StoreSettings;
}

/** Connection settings of the model store (as `openModelStore` takes them) and how often it is polled. */
export interface StoreSettings {
  /** Store root (metadata, blobs and the package cache by default); default `$GENOME_STORE_DIR`, else `./.genome-store`. */
  dir?: string;
  /** Metadata backend URL (`sqlite:///...`, `postgres://...`, `redis://...`); default `sqlite://<dir>/metadata.sqlite`. */
  metadata?: string;
  /** Blob store (a directory, `file://...`, `s3://bucket/prefix?endpoint=...`); default `<dir>/blobs`. */
  blobs?: string;
  /** How often the store's log is polled for moved aliases and new versions, ms. */
  pollMs: number;
}

/** Default poll interval of the model store, ms. */
export const DEFAULT_STORE_POLL_MS = 1000;
/** The scheme of model-store references in `--model`. */
export const STORE_SCHEME = 'store://';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (src/ or dist/ is two levels under apps/explainer-sidecar). */
export const repoRoot = resolve(here, '../../..');
export const DEFAULT_MODEL_DIR = join(repoRoot, 'examples/packages/california-housing-rf');

/** Below this many rows a TreeSHAP call costs less in-process than a round trip to a worker (see README, Measured). */
export const DEFAULT_TREE_POOL_MIN_ROWS = 8;

export function defaultConfig(): SidecarConfig {
  return {
    host: '0.0.0.0',
    grpcPort: 8081,
    httpPort: 8080,
    models: [],
    maxConcurrency: 4,
    maxConcurrencyPerModel: 0,
    maxSamples: 100_000,
    maxModelRows: 10_000_000,
    maxRowOps: 30_000_000,
    maxChartMarks: 50_000,
    maxPngPixels: 4_000_000,
    remoteStartupWaitMs: 10_000,
    maxQueue: 256,
    maxMessageBytes: 4 * 1024 * 1024,
    maxRows: 100_000,
    chunkRows: 256,
    streamChunkRows: 64,
    treeWorkers: availableParallelism(),
    treePoolMinRows: DEFAULT_TREE_POOL_MIN_ROWS,
    defaultDeadlineMs: 60_000,
    shutdownGraceMs: 30_000,
    authTokens: [],
    logLevel: 'info',
    protoDir: join(repoRoot, 'proto'),
    store: { pollMs: DEFAULT_STORE_POLL_MS },
  };
}

/** A layer of settings; `remote` gathers the remote-model flags and the per-file extras (names, background, rounds). */
type Partial2 = Omit<Partial<SidecarConfig>, 'store'> & { store?: Partial<StoreSettings> } & { remote?: Partial<Extract<ModelSpec, { kind: 'remote' }>> & { iterationRange?: XGBoostIterationRange } };

/** `best`, or `B,E` (boosting rounds, end exclusive). */
function iterationRange(v: string, key: string): XGBoostIterationRange {
  if (v === 'best') return 'best';
  const m = /^(\d+),(\d+)$/.exec(v.replace(/\s/g, ''));
  if (!m) throw bad(`${key} must be "best" or "BEGIN,END" (boosting rounds, end exclusive), got "${v}"`);
  return [Number(m[1]), Number(m[2])];
}

const bad = (msg: string) => new SidecarError('CONFIG', msg);

/** Integer option values as Number() reads them (lenient: the sidecar's options always took "1e3" and ""). */
const int = (v: string, key: string, min: number): number => intOption(v, key, min, true);

/**
 * A model-store reference (`NAME@ALIAS`, `NAME`, `NAME/3`, with or without `store://`), checked for syntax; `where`
 * names the flag or file in the error.
 */
export function storeRef(raw: string, where: string): string {
  const ref = raw.startsWith(STORE_SCHEME) ? raw.slice(STORE_SCHEME.length) : raw;
  try {
    parseRef(ref);
  } catch (err) {
    throw bad(`${where}: "${STORE_SCHEME}${ref}" is not a model-store reference: ${(err as Error).message} Use ${STORE_SCHEME}NAME@ALIAS, ${STORE_SCHEME}NAME/VERSION or ${STORE_SCHEME}NAME (the latest version).`);
  }
  return ref;
}

/** `name=path` or `path` -> a file or package spec (directories are packages); `[name=]store://REF` -> a store model. */
export function modelSpecOf(arg: string, forcePackage = false): ModelSpec {
  const eq = arg.indexOf('=');
  const name = eq > 0 && !arg.slice(0, eq).includes('/') ? arg.slice(0, eq) : undefined;
  const target = name ? arg.slice(eq + 1) : arg;
  if (target.startsWith(STORE_SCHEME)) return { ...(name ? { name } : {}), kind: 'store', ref: storeRef(target, '--model') };
  const path = resolve(name ? arg.slice(eq + 1) : arg);
  const isDir = existsSync(path) && statSync(path).isDirectory();
  return { ...(name ? { name } : {}), kind: forcePackage || isDir ? 'package' : 'file', path };
}

const remote = (c: Partial2) => (c.remote ??= {});
const store = (c: Partial2) => (c.store ??= {});

export const OPTIONS: CliOption<Partial2>[] = [
  { flags: ['--config'], env: 'GENOME_SIDECAR_CONFIG', apply: () => {}, help: 'JSON config file (keys as in SidecarConfig)' },
  { flags: ['--host'], env: 'GENOME_SIDECAR_HOST', apply: (c, v) => (c.host = v), help: 'interface to listen on (default 0.0.0.0)' },
  { flags: ['--grpc-port', '--grpc_port'], env: 'GENOME_SIDECAR_GRPC_PORT', apply: (c, v, k) => (c.grpcPort = int(v, k, 0)), help: 'gRPC port (default 8081; 0 = any)' },
  { flags: ['--http-port', '--http_port'], env: 'GENOME_SIDECAR_HTTP_PORT', apply: (c, v, k) => (c.httpPort = int(v, k, -1)), help: 'REST port (default 8080; 0 = any; -1 = off)' },
  {
    flags: ['--model'],
    env: 'GENOME_SIDECAR_MODEL',
    apply: (c, v) => (c.models = [...(c.models ?? []), ...v.split(',').filter(Boolean).map((s) => modelSpecOf(s))]),
    help: '[name=]path of a model file (.json/.ubj XGBoost, .txt LightGBM, .onnx) or Genome package dir; repeatable',
  },
  { flags: ['--package'], env: 'GENOME_SIDECAR_PACKAGE', apply: (c, v) => (c.models = [...(c.models ?? []), modelSpecOf(v, true)]), help: '[name=]dir (or .tar.gz/.zip) of a Genome package; repeatable' },
  {
    flags: ['--storage_uri', '--storage-uri'],
    apply: (c, v) => (c.models = [...(c.models ?? []), modelSpecOf(v, !existsSync(resolve(v)))]),
    help: 'KServe: local path of the downloaded model (a Genome package dir, or a model file)',
  },
  { flags: ['--store-dir'], env: 'GENOME_STORE_DIR', apply: (c, v) => (store(c).dir = resolve(v)), help: 'model store root for store:// models (default ./.genome-store)' },
  { flags: ['--store-metadata'], env: 'GENOME_STORE_METADATA', apply: (c, v) => (store(c).metadata = v), help: 'model store metadata URL: sqlite:///path, postgres://..., redis://... (default sqlite://<store dir>/metadata.sqlite)' },
  { flags: ['--store-blobs'], env: 'GENOME_STORE_BLOBS', apply: (c, v) => (store(c).blobs = v), help: 'model store blobs: a directory, file://..., s3://bucket/prefix?endpoint=... (default <store dir>/blobs)' },
  {
    flags: ['--store-poll-ms'],
    env: 'GENOME_SIDECAR_STORE_POLL_MS',
    apply: (c, v, k) => (store(c).pollMs = int(v, k, 10)),
    help: `how often store://NAME@ALIAS and store://NAME models check the store for a new version, ms (default ${DEFAULT_STORE_POLL_MS})`,
  },
  { flags: ['--predictor-host', '--predictor_host'], env: 'GENOME_SIDECAR_PREDICTOR_HOST', apply: (c, v) => (remote(c).host = v), help: 'host:port of an Open Inference Protocol model server to explain remotely' },
  {
    flags: ['--predictor-protocol', '--predictor_protocol', '--protocol'],
    env: 'GENOME_SIDECAR_PREDICTOR_PROTOCOL',
    apply: (c, v) => {
      if (v !== 'grpc-v2' && v !== 'v2') throw bad(`--predictor-protocol must be grpc-v2 or v2 (OIP REST), got "${v}"`);
      remote(c).protocol = v;
    },
    help: 'grpc-v2 (default) or v2 (REST)',
  },
  {
    flags: ['--predictor-input'],
    env: 'GENOME_SIDECAR_PREDICTOR_INPUT',
    apply: (c, v) => {
      if (v !== 'tabular' && v !== 'text') throw bad(`--predictor-input must be tabular or text, got "${v}"`);
      remote(c).input = v;
    },
    help: 'what the remote model takes: tabular rows (default) or text (a BYTES tensor of strings)',
  },
  { flags: ['--model-name', '--model_name'], env: 'GENOME_SIDECAR_MODEL_NAME', apply: (c, v) => (remote(c).name = v), help: 'name of the remote model (KServe passes the InferenceService name)' },
  { flags: ['--remote-model-name'], env: 'GENOME_SIDECAR_REMOTE_MODEL_NAME', apply: (c, v) => (remote(c).remoteName = v), help: 'model name on the remote server if different from --model-name' },
  { flags: ['--predictor-use-ssl', '--predictor_use_ssl'], env: 'GENOME_SIDECAR_PREDICTOR_USE_SSL', boolean: true, apply: (c, v, k) => (remote(c).useTls = boolOption(v, k)), help: 'talk TLS to the model server' },
  {
    flags: ['--predictor-timeout-ms'],
    env: 'GENOME_SIDECAR_PREDICTOR_TIMEOUT_MS',
    apply: (c, v, k) => (remote(c).timeoutMs = int(v, k, 1)),
    help: 'deadline of each model-server request, ms (default 30000)',
  },
  { flags: ['--predictor_request_timeout_seconds'], apply: (c, v, k) => (remote(c).timeoutMs = int(v, k, 1) * 1000), help: 'KServe alias of --predictor-timeout-ms in seconds' },
  { flags: ['--feature-names'], env: 'GENOME_SIDECAR_FEATURE_NAMES', apply: (c, v) => (remote(c).featureNames = v.split(',').map((s) => s.trim())), help: 'comma-separated feature names of the remote model (or of the --model files)' },
  {
    flags: ['--iteration-range'],
    env: 'GENOME_SIDECAR_ITERATION_RANGE',
    apply: (c, v, k) => (remote(c).iterationRange = iterationRange(v, k)),
    help: 'XGBoost models (--model files, --package dirs): the boosting rounds to serve, "best" (as XGBRegressor.predict after early stopping) or "BEGIN,END" (as Booster.predict(iteration_range=...)); default every round',
  },
  { flags: ['--background'], env: 'GENOME_SIDECAR_BACKGROUND', apply: (c, v) => (remote(c).backgroundPath = resolve(v)), help: 'CSV of background rows (header = feature names) for black-box methods and interventional TreeSHAP on the remote model (or the --model files)' },
  { flags: ['--max-concurrency', '--workers'], env: 'GENOME_SIDECAR_MAX_CONCURRENCY', apply: (c, v, k) => (c.maxConcurrency = int(v, k, 1)), help: 'explain calls running at once (default 4)' },
  {
    flags: ['--max-concurrency-per-model'],
    env: 'GENOME_SIDECAR_MAX_CONCURRENCY_PER_MODEL',
    apply: (c, v, k) => (c.maxConcurrencyPerModel = int(v, k, 0)),
    help: 'explain calls running at once for one model (default 0 = half of --max-concurrency, rounded up)',
  },
  { flags: ['--max-samples'], env: 'GENOME_SIDECAR_MAX_SAMPLES', apply: (c, v, k) => (c.maxSamples = int(v, k, 2)), help: 'largest nsamples / max_evals / num_samples / coverage_samples / batch_size a call may ask for (default 100000)' },
  { flags: ['--max-model-rows'], env: 'GENOME_SIDECAR_MAX_MODEL_ROWS', apply: (c, v, k) => (c.maxModelRows = int(v, k, 1)), help: 'model rows (synthetic samples, forward passes) one call or stream message may evaluate (default 10000000)' },
  { flags: ['--max-chart-marks'], env: 'GENOME_SIDECAR_MAX_CHART_MARKS', apply: (c, v, k) => (c.maxChartMarks = int(v, k, 1)), help: 'most marks one Visualize chart may draw: rows x features shown (beeswarm, decision), 4 per row and band of a stacked force plot (default 50000, about 0.1 s of drawing on the chart worker)' },
  { flags: ['--max-png-pixels'], env: 'GENOME_SIDECAR_MAX_PNG_PIXELS', apply: (c, v, k) => (c.maxPngPixels = int(v, k, 1)), help: 'largest PNG one Visualize call may produce, width x height after scaling (default 4000000, e.g. 2000 x 2000; drawn and encoded on a worker thread, about 0.2 s per million pixels)' },
  { flags: ['--max-row-ops'], env: 'GENOME_SIDECAR_MAX_ROW_OPS', apply: (c, v, k) => (c.maxRowOps = int(v, k, 1)), help: 'synchronous work one explained row may need between pauses, in estimated ns on a 2-core Xeon VM (sample matrices, regression fits; default 30000000, about 30 ms)' },
  { flags: ['--remote-startup-wait-ms'], env: 'GENOME_SIDECAR_REMOTE_STARTUP_WAIT_MS', apply: (c, v, k) => (c.remoteStartupWaitMs = int(v, k, 0)), help: 'how long startup waits for a remote model server before serving the model as not ready and retrying in the background (default 10000)' },
  { flags: ['--tree-workers'], env: 'GENOME_SIDECAR_TREE_WORKERS', apply: (c, v, k) => (c.treeWorkers = int(v, k, 0)), help: 'TreeSHAP worker threads (default: available cores; 0 = on the event-loop thread)' },
  { flags: ['--tree-pool-min-rows'], env: 'GENOME_SIDECAR_TREE_POOL_MIN_ROWS', apply: (c, v, k) => (c.treePoolMinRows = int(v, k, 1)), help: `TreeSHAP calls with at least this many rows use the worker pool (default ${DEFAULT_TREE_POOL_MIN_ROWS})` },
  { flags: ['--max-queue'], env: 'GENOME_SIDECAR_MAX_QUEUE', apply: (c, v, k) => (c.maxQueue = int(v, k, 0)), help: 'calls waiting before RESOURCE_EXHAUSTED (default 256)' },
  { flags: ['--max-message-bytes'], env: 'GENOME_SIDECAR_MAX_MESSAGE_BYTES', apply: (c, v, k) => (c.maxMessageBytes = int(v, k, 1024)), help: 'largest gRPC message / REST body, and the estimated size of an answer (default 4 MiB: decoding one takes ~40 ms)' },
  { flags: ['--max-rows'], env: 'GENOME_SIDECAR_MAX_ROWS', apply: (c, v, k) => (c.maxRows = int(v, k, 1)), help: 'largest rows per request (default 100000)' },
  { flags: ['--chunk-rows'], env: 'GENOME_SIDECAR_CHUNK_ROWS', apply: (c, v, k) => (c.chunkRows = int(v, k, 1)), help: 'rows per internal chunk (default 256)' },
  { flags: ['--stream-chunk-rows'], env: 'GENOME_SIDECAR_STREAM_CHUNK_ROWS', apply: (c, v, k) => (c.streamChunkRows = int(v, k, 1)), help: 'rows per ExplainStream message (default 64)' },
  { flags: ['--default-deadline-ms'], env: 'GENOME_SIDECAR_DEFAULT_DEADLINE_MS', apply: (c, v, k) => (c.defaultDeadlineMs = int(v, k, 1)), help: 'deadline of calls without one (default 60000)' },
  { flags: ['--shutdown-grace-ms'], env: 'GENOME_SIDECAR_SHUTDOWN_GRACE_MS', apply: (c, v, k) => (c.shutdownGraceMs = int(v, k, 0)), help: 'drain time after SIGTERM (default 30000)' },
  { flags: ['--tls-cert'], env: 'GENOME_SIDECAR_TLS_CERT', apply: (c, v) => (tlsOf(c).certFile = resolve(v)), help: 'server certificate (PEM); enables TLS on both ports' },
  { flags: ['--tls-key'], env: 'GENOME_SIDECAR_TLS_KEY', apply: (c, v) => (tlsOf(c).keyFile = resolve(v)), help: 'server private key (PEM)' },
  { flags: ['--tls-ca'], env: 'GENOME_SIDECAR_TLS_CA', apply: (c, v) => (tlsOf(c).caFile = resolve(v)), help: 'CA bundle for client certificates' },
  { flags: ['--tls-require-client-cert'], env: 'GENOME_SIDECAR_TLS_REQUIRE_CLIENT_CERT', boolean: true, apply: (c, v, k) => (tlsOf(c).requireClientCert = boolOption(v, k)), help: 'mTLS: reject clients without a certificate from --tls-ca' },
  { flags: ['--auth-tokens-file'], env: 'GENOME_SIDECAR_AUTH_TOKENS_FILE', apply: (c, v) => (c.authTokens = readTokenGrants(resolve(v))), help: 'JSON [{"token","models"?:["*"],"scopes"?:["*"],"subject"?}] (one file for the whole platform; the sidecar checks "models"): turns bearer auth on' },
  { flags: ['--log-level'], env: 'GENOME_SIDECAR_LOG_LEVEL', apply: (c, v) => (c.logLevel = v), help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  { flags: ['--proto-dir'], env: 'GENOME_SIDECAR_PROTO_DIR', apply: (c, v) => (c.protoDir = resolve(v)), help: 'directory with genome/explain/v1/explainer.proto (for reflection)' },
];

/** Flags KServe's controller passes that the sidecar does not need. */
const IGNORED = new Set(['--enable_docs_url', '--enable_latency_logging', '--predictor_request_retries']);

function parseFlags(argv: readonly string[]): { layer: Partial2; configFile?: string } {
  const layer: Partial2 = {};
  let configFile: string | undefined;
  scanFlags(argv, OPTIONS, {
    help: () => new SidecarError('CONFIG', usage()),
    ignored: IGNORED,
    value: (opt, value, flag) => {
      if (flag === '--config') configFile = resolve(value);
      else opt.apply(layer, value, flag);
    },
  });
  return { layer, configFile };
}

function parseEnv(env: NodeJS.ProcessEnv): { layer: Partial2; configFile?: string } {
  const layer: Partial2 = {};
  for (const o of OPTIONS) {
    if (!o.env || o.env === 'GENOME_SIDECAR_CONFIG') continue;
    const v = env[o.env];
    if (v !== undefined && v !== '') o.apply(layer, v, o.env);
  }
  const tokens = env.GENOME_SIDECAR_AUTH_TOKENS;
  if (tokens) {
    try {
      layer.authTokens = JSON.parse(tokens) as TokenGrant[];
    } catch {
      throw bad('GENOME_SIDECAR_AUTH_TOKENS must be JSON: [{"token": "...", "models": ["*"]}]');
    }
  }
  return { layer, configFile: env.GENOME_SIDECAR_CONFIG ? resolve(env.GENOME_SIDECAR_CONFIG) : undefined };
}

function parseFile(path: string): Partial2 {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw bad(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`config file ${path} must hold a JSON object`);
  const known = new Set(Object.keys(defaultConfig()).concat(['tls', 'models', 'store']));
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) throw bad(`config file ${path}: unknown key(s) ${unknown.join(', ')}`);
  const c = raw as Partial2;
  const base = dirname(path);
  // Relative paths in the file are relative to the file.
  if (c.models) {
    c.models = c.models.map((m) => {
      if (m.kind === 'store') return { ...m, ref: storeRef(String(m.ref), `config file ${path}`) };
      if (typeof (m as { path?: unknown }).path === 'string' && (m as { path: string }).path.startsWith(STORE_SCHEME)) {
        // {"kind": "package", "path": "store://NAME@ALIAS"} reads as a store model too.
        const { path: ref, name } = m as { path: string; name?: string };
        return { ...(name ? { name } : {}), kind: 'store', ref: storeRef(ref, `config file ${path}`), ...(m.kind !== 'remote' && m.iterationRange !== undefined ? { iterationRange: m.iterationRange } : {}) };
      }
      const bg = m.kind !== 'package' && m.backgroundPath ? { backgroundPath: resolve(base, m.backgroundPath) } : {};
      return m.kind === 'remote' ? { ...m, ...bg } : { ...m, path: resolve(base, m.path), ...bg };
    });
  }
  if (c.tls) c.tls = { ...c.tls, certFile: resolve(base, c.tls.certFile), keyFile: resolve(base, c.tls.keyFile), ...(c.tls.caFile ? { caFile: resolve(base, c.tls.caFile) } : {}) };
  if (c.protoDir) c.protoDir = resolve(base, c.protoDir);
  if (c.store?.dir) c.store = { ...c.store, dir: resolve(base, c.store.dir) };
  return c;
}

function merge(into: SidecarConfig, layer: Partial2): void {
  const { remote: r, tls: t, models, store: st, ...rest } = layer;
  Object.assign(into, rest);
  if (t) into.tls = { ...(into.tls ?? { certFile: '', keyFile: '' }), ...t };
  if (st) into.store = { ...into.store, ...st };
  const layerModels: ModelSpec[] = [...(models ?? [])];
  if (r?.iterationRange !== undefined) {
    // --iteration-range applies to the model files and packages of this layer (XGBoost models).
    const local = layerModels.filter((m) => m.kind !== 'remote');
    if (local.length === 0) throw bad('--iteration-range needs a --model file or --package in the same place (flags, env or file)');
    for (const m of local) (m as { iterationRange?: XGBoostIterationRange }).iterationRange = r.iterationRange;
    delete r.iterationRange;
  }
  if (r && !r.host && Object.keys(r).length > 0 && Object.keys(r).every((k) => k === 'featureNames' || k === 'backgroundPath')) {
    // --feature-names / --background without a remote model: they apply to the model files of this layer.
    const files = layerModels.filter((m) => m.kind === 'file');
    if (files.length === 0) throw bad('--feature-names / --background need a --model file or --predictor-host in the same place (flags, env or file)');
    for (const f of files) Object.assign(f, r);
  } else if (r && Object.keys(r).length > 0) {
    if (!r.host) throw bad('--predictor-host is required when other --predictor-* / --model-name options are given');
    layerModels.push({ ...r, kind: 'remote', name: r.name ?? 'model', host: r.host, protocol: r.protocol ?? 'grpc-v2' });
  }
  if (layerModels.length > 0) into.models = layerModels;
}

/** Builds the configuration from argv and env (see the module doc for precedence). */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const flags = parseFlags(argv);
  const envs = parseEnv(env);
  const config = defaultConfig();
  const file = flags.configFile ?? envs.configFile;
  if (file) merge(config, parseFile(file));
  merge(config, envs.layer);
  merge(config, flags.layer);
  return validateConfig(config);
}

export function validateConfig(c: SidecarConfig): SidecarConfig {
  if (c.tls && (!c.tls.certFile || !c.tls.keyFile)) throw bad('TLS needs both --tls-cert and --tls-key');
  if (!Number.isInteger(c.treeWorkers) || c.treeWorkers < 0) throw bad(`treeWorkers must be an integer >= 0, got ${JSON.stringify(c.treeWorkers)}`);
  if (!Number.isInteger(c.treePoolMinRows) || c.treePoolMinRows < 1) throw bad(`treePoolMinRows must be an integer >= 1, got ${JSON.stringify(c.treePoolMinRows)}`);
  const positive: (keyof SidecarConfig)[] = ['maxConcurrency', 'maxSamples', 'maxModelRows', 'maxRowOps', 'maxChartMarks', 'maxPngPixels', 'maxRows', 'chunkRows', 'streamChunkRows', 'maxMessageBytes', 'defaultDeadlineMs'];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`${k} must be an integer >= 1, got ${JSON.stringify(v)}`);
  }
  for (const k of ['maxConcurrencyPerModel', 'remoteStartupWaitMs', 'maxQueue', 'shutdownGraceMs'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw bad(`${k} must be an integer >= 0, got ${JSON.stringify(c[k])}`);
  }
  if (!Number.isInteger(c.store.pollMs) || c.store.pollMs < 10) throw bad(`store.pollMs must be an integer >= 10, got ${JSON.stringify(c.store.pollMs)}`);
  for (const m of c.models) if (m.kind === 'store') m.ref = storeRef(m.ref, 'models');
  if (c.models.length === 0) c.models = [{ kind: 'package', path: DEFAULT_MODEL_DIR }];
  return c;
}

export function usage(): string {
  const lines = OPTIONS.map((o) => `  ${o.flags.join(', ')}${o.boolean ? '' : ' <value>'}\n      ${o.help}${o.env ? ` [env ${o.env}]` : ''}`);
  return `genome-explainer-sidecar [options]\nPrecedence: flags > env > --config file > defaults.\n${lines.join('\n')}`;
}
