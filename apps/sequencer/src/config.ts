/**
 * Configuration of `genome-platform`: embedded defaults < environment < command-line flags. Server settings come from
 * GENOME_PLATFORM_* variables; the model store's connection from the variables @genome/model-store documents
 * (GENOME_STORE_DIR, GENOME_STORE_METADATA, GENOME_STORE_BLOBS), so one environment serves the CLI and the server.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boolOption, intOption, readTokenGrants, scanFlags, tlsOf, type CliOption, type TlsFiles, type TokenGrant } from '@genome/server-kit';
import { PlatformError } from './errors.js';

export interface StoreConnection {
  /** Root of the default metadata file, blob directory and cache (default $GENOME_STORE_DIR, else ./.genome-store). */
  dir?: string;
  /** Metadata backend URL: sqlite:///path, postgres://..., redis://..., memory: (default sqlite under `dir`). */
  metadata?: string;
  /** Blob store: a directory, file://..., s3://bucket/prefix?... (default `dir`/blobs). */
  blobs?: string;
  /** Key namespace in the metadata backend (default genome-store). */
  namespace?: string;
}

/** The sequencer's settings: which executor runs the steps, where run records live, how schedules tick. */
export interface SequencerSettings {
  /** `local` (the embedded default: steps' commands as local processes) or `kubernetes` (batch/v1 Jobs). */
  executor: 'local' | 'kubernetes';
  /**
   * Run records and scheduled pipelines: a keyv URL (sqlite:///path, postgres://..., redis://..., memory:). Default:
   * the store's metadata backend when it is PostgreSQL or Redis (namespace genome-sequencer), else
   * sqlite://<store dir>/sequencer.sqlite.
   */
  state?: string;
  /** Local executor: working directory of the steps (default: the server's working directory). */
  stepCwd?: string;
  /** Local executor: folder of the per-attempt logs (default <store dir>/sequencer-logs). */
  logDir?: string;
  /** Kubernetes executor: namespace of the Jobs (default: the kubeconfig's, in a pod its own). */
  kubeNamespace?: string;
  /** Kubernetes executor: a kubeconfig file (default KUBECONFIG, ~/.kube/config, else the pod's service account). */
  kubeconfig?: string;
  /** Kubernetes executor: ttlSecondsAfterFinished of the Jobs. */
  jobTtlSeconds?: number;
  /** Longest sleep of the scheduler between ticks, ms (it also wakes at each pipeline's next run time). */
  scheduleTickMs: number;
  /** Wait before a step's first retry, ms (doubling per retry up to 60 s). */
  retryBackoffMs: number;
}

export interface PlatformConfig {
  /** Interface to listen on. */
  host: string;
  /** gRPC port (0 = any free port). */
  grpcPort: number;
  /** REST port (0 = any free port, -1 = no REST server). */
  httpPort: number;
  tls?: TlsFiles;
  /** Bearer-token grants; none = auth off. Scopes used here: store:read, store:write. */
  authTokens: TokenGrant[];
  /** The model store the server hosts. */
  store: StoreConnection;
  /** The sequencer it hosts. */
  sequencer: SequencerSettings;
  /** Largest gRPC message (either way) and largest JSON request body, bytes. */
  maxMessageBytes: number;
  /** Largest blob (one package file) a client may upload, bytes. */
  maxBlobBytes: number;
  /** Deadline of calls that carry none (gRPC) and of every REST call except blob transfers, ms. */
  defaultDeadlineMs: number;
  /** Deadline of blob uploads and downloads (PutBlob, GetBlob, PUT blobs, GET files) that carry none, ms. */
  transferDeadlineMs: number;
  /** How often WatchEvents looks for new events, ms. */
  watchPollMs: number;
  /** Time in-flight calls get to finish after SIGTERM before they are cancelled, ms. */
  shutdownGraceMs: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
  /** Directory holding genome/store/v1/store.proto (served by reflection). */
  protoDir: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (src/ or dist/ is two levels under apps/sequencer). */
export const repoRoot = resolve(here, '../../..');

export function defaultConfig(): PlatformConfig {
  return {
    host: '0.0.0.0',
    grpcPort: 7070,
    httpPort: 8080,
    authTokens: [],
    store: {},
    sequencer: { executor: 'local', scheduleTickMs: 30_000, retryBackoffMs: 1000 },
    maxMessageBytes: 4 * 1024 * 1024,
    maxBlobBytes: 8 * 1024 * 1024 * 1024,
    defaultDeadlineMs: 60_000,
    transferDeadlineMs: 30 * 60_000,
    watchPollMs: 500,
    shutdownGraceMs: 30_000,
    logLevel: 'info',
    protoDir: join(repoRoot, 'proto'),
  };
}

const bad = (msg: string) => new PlatformError('CONFIG', msg);

export const OPTIONS: CliOption<PlatformConfig>[] = [
  { flags: ['--host'], env: 'GENOME_PLATFORM_HOST', apply: (c, v) => (c.host = v), help: 'interface to listen on (default 0.0.0.0)' },
  { flags: ['--grpc-port'], env: 'GENOME_PLATFORM_GRPC_PORT', apply: (c, v, k) => (c.grpcPort = intOption(v, k, 0)), help: 'gRPC port (default 7070; 0 = any free port)' },
  { flags: ['--http-port'], env: 'GENOME_PLATFORM_HTTP_PORT', apply: (c, v, k) => (c.httpPort = intOption(v, k, -1)), help: 'REST port (default 8080; 0 = any free port; -1 = no REST)' },
  { flags: ['--tls-cert'], env: 'GENOME_PLATFORM_TLS_CERT', apply: (c, v) => (tlsOf(c).certFile = resolve(v)), help: 'server certificate (PEM); turns TLS on for both ports' },
  { flags: ['--tls-key'], env: 'GENOME_PLATFORM_TLS_KEY', apply: (c, v) => (tlsOf(c).keyFile = resolve(v)), help: 'server private key (PEM)' },
  {
    flags: ['--tls-client-ca'],
    env: 'GENOME_PLATFORM_TLS_CLIENT_CA',
    apply: (c, v) => Object.assign(tlsOf(c), { caFile: resolve(v), requireClientCert: true }),
    help: 'mTLS: CA bundle (PEM) that signs client certificates; clients without one are refused',
  },
  { flags: ['--tls-ca'], env: 'GENOME_PLATFORM_TLS_CA', apply: (c, v) => (tlsOf(c).caFile = resolve(v)), help: 'CA bundle for client certificates, without requiring them (see --tls-require-client-cert)' },
  { flags: ['--tls-require-client-cert'], env: 'GENOME_PLATFORM_TLS_REQUIRE_CLIENT_CERT', boolean: true, apply: (c, v, k) => (tlsOf(c).requireClientCert = boolOption(v, k)), help: 'mTLS with --tls-ca (same as --tls-client-ca)' },
  {
    flags: ['--tokens', '--auth-tokens-file'],
    env: 'GENOME_PLATFORM_TOKENS',
    apply: (c, v) => (c.authTokens = readTokenGrants(resolve(v))),
    help: 'JSON file [{"token","scopes"?:["store:read","store:write","pipelines:read","pipelines:write"],"models"?:["*"],"subject"?}] (the platform-wide tokens file): turns bearer auth on',
  },
  { flags: ['--store-dir'], env: 'GENOME_STORE_DIR', apply: (c, v) => (c.store.dir = resolve(v)), help: 'model store root: default metadata file, blob directory and cache (default ./.genome-store)' },
  { flags: ['--store-metadata'], env: 'GENOME_STORE_METADATA', apply: (c, v) => (c.store.metadata = v), help: 'metadata backend URL: sqlite:///path.sqlite (default <store-dir>/metadata.sqlite), postgres://..., redis://..., memory:' },
  { flags: ['--store-blobs'], env: 'GENOME_STORE_BLOBS', apply: (c, v) => (c.store.blobs = v), help: 'blob store: a directory or file://... (default <store-dir>/blobs), or s3://bucket/prefix?region=...&endpoint=...' },
  { flags: ['--store-namespace'], env: 'GENOME_STORE_NAMESPACE', apply: (c, v) => (c.store.namespace = v), help: 'key namespace in the metadata backend (default genome-store)' },
  {
    flags: ['--executor'],
    env: 'GENOME_SEQUENCER_EXECUTOR',
    apply: (c, v, k) => {
      if (v !== 'local' && v !== 'kubernetes') throw bad(`${k} must be local or kubernetes, got ${JSON.stringify(v)}`);
      c.sequencer.executor = v;
    },
    help: 'where pipeline steps run: local (processes running each step\'s command; default) or kubernetes (batch/v1 Jobs)',
  },
  { flags: ['--sequencer-state'], env: 'GENOME_SEQUENCER_STATE', apply: (c, v) => (c.sequencer.state = v), help: 'run records: sqlite:///path, postgres://..., redis://..., memory: (default: the store\'s PostgreSQL/Redis, else <store-dir>/sequencer.sqlite)' },
  { flags: ['--step-cwd'], env: 'GENOME_SEQUENCER_STEP_CWD', apply: (c, v) => (c.sequencer.stepCwd = resolve(v)), help: 'local executor: working directory of the steps (default: the current directory)' },
  { flags: ['--step-log-dir'], env: 'GENOME_SEQUENCER_LOG_DIR', apply: (c, v) => (c.sequencer.logDir = resolve(v)), help: 'local executor: folder of step logs (default <store-dir>/sequencer-logs)' },
  { flags: ['--kube-namespace'], env: 'GENOME_SEQUENCER_NAMESPACE', apply: (c, v) => (c.sequencer.kubeNamespace = v), help: 'kubernetes executor: namespace of the Jobs (default: the kubeconfig\'s, or the pod\'s own)' },
  { flags: ['--kubeconfig'], env: 'GENOME_SEQUENCER_KUBECONFIG', apply: (c, v) => (c.sequencer.kubeconfig = resolve(v)), help: 'kubernetes executor: kubeconfig file (default KUBECONFIG, ~/.kube/config, else in-cluster)' },
  { flags: ['--job-ttl-seconds'], env: 'GENOME_SEQUENCER_JOB_TTL_SECONDS', apply: (c, v, k) => (c.sequencer.jobTtlSeconds = intOption(v, k, 0)), help: 'kubernetes executor: ttlSecondsAfterFinished of step Jobs' },
  { flags: ['--schedule-tick-ms'], env: 'GENOME_SEQUENCER_TICK_MS', apply: (c, v, k) => (c.sequencer.scheduleTickMs = intOption(v, k, 100)), help: 'longest sleep of the scheduler between ticks, ms (default 30000; it also wakes when a run is due)' },
  { flags: ['--retry-backoff-ms'], env: 'GENOME_SEQUENCER_RETRY_BACKOFF_MS', apply: (c, v, k) => (c.sequencer.retryBackoffMs = intOption(v, k, 0)), help: 'wait before a step\'s first retry, ms (default 1000, doubling up to 60 s)' },
  { flags: ['--max-message-bytes'], env: 'GENOME_PLATFORM_MAX_MESSAGE_BYTES', apply: (c, v, k) => (c.maxMessageBytes = intOption(v, k, 1024)), help: 'largest gRPC message and JSON request body, bytes (default 4194304)' },
  { flags: ['--max-blob-bytes'], env: 'GENOME_PLATFORM_MAX_BLOB_BYTES', apply: (c, v, k) => (c.maxBlobBytes = intOption(v, k, 1)), help: 'largest blob (package file) a client may upload, bytes (default 8 GiB)' },
  { flags: ['--default-deadline-ms'], env: 'GENOME_PLATFORM_DEFAULT_DEADLINE_MS', apply: (c, v, k) => (c.defaultDeadlineMs = intOption(v, k, 1)), help: 'deadline of calls that carry none, ms (default 60000)' },
  { flags: ['--transfer-deadline-ms'], env: 'GENOME_PLATFORM_TRANSFER_DEADLINE_MS', apply: (c, v, k) => (c.transferDeadlineMs = intOption(v, k, 1)), help: 'deadline of blob uploads and downloads that carry none, ms (default 1800000)' },
  { flags: ['--watch-poll-ms'], env: 'GENOME_PLATFORM_WATCH_POLL_MS', apply: (c, v, k) => (c.watchPollMs = intOption(v, k, 10)), help: 'how often WatchEvents looks for new events, ms (default 500)' },
  { flags: ['--shutdown-grace-ms'], env: 'GENOME_PLATFORM_SHUTDOWN_GRACE_MS', apply: (c, v, k) => (c.shutdownGraceMs = intOption(v, k, 0)), help: 'time in-flight calls get after SIGTERM, ms (default 30000)' },
  { flags: ['--log-level'], env: 'GENOME_PLATFORM_LOG_LEVEL', apply: (c, v) => (c.logLevel = v), help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  { flags: ['--proto-dir'], env: 'GENOME_PLATFORM_PROTO_DIR', apply: (c, v) => (c.protoDir = resolve(v)), help: 'directory with genome/store/v1/store.proto (served by reflection)' },
];

/** Thrown by loadConfig for --help: the message is the usage text. */
export class HelpRequested extends Error {}

function applyEnv(c: PlatformConfig, env: NodeJS.ProcessEnv): void {
  for (const o of OPTIONS) {
    const v = o.env ? env[o.env] : undefined;
    if (v !== undefined && v !== '') o.apply(c, v, o.env!);
  }
}

function applyFlags(c: PlatformConfig, argv: readonly string[]): void {
  scanFlags(argv, OPTIONS, { help: () => new HelpRequested(usage()), value: (opt, value, flag) => opt.apply(c, value, flag) });
}

/** Builds the configuration from argv and env (flags > env > defaults). */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const c = defaultConfig();
  applyEnv(c, env);
  applyFlags(c, argv);
  return validateConfig(c);
}

export function validateConfig(c: PlatformConfig): PlatformConfig {
  if (c.tls && (!c.tls.certFile || !c.tls.keyFile)) throw bad('TLS needs both --tls-cert and --tls-key');
  if (c.tls?.requireClientCert && !c.tls.caFile) throw bad('mTLS needs the CA that signs client certificates: --tls-client-ca ca.pem');
  for (const k of ['maxMessageBytes', 'maxBlobBytes', 'defaultDeadlineMs', 'transferDeadlineMs', 'watchPollMs'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < 1) throw bad(`${k} must be an integer >= 1, got ${JSON.stringify(c[k])}`);
  }
  if (!Number.isSafeInteger(c.shutdownGraceMs) || c.shutdownGraceMs < 0) throw bad(`shutdownGraceMs must be an integer >= 0, got ${JSON.stringify(c.shutdownGraceMs)}`);
  if (!Number.isInteger(c.grpcPort) || c.grpcPort < 0 || c.grpcPort > 65535) throw bad(`grpcPort must be 0..65535, got ${c.grpcPort}`);
  if (!Number.isInteger(c.httpPort) || c.httpPort < -1 || c.httpPort > 65535) throw bad(`httpPort must be -1..65535, got ${c.httpPort}`);
  return c;
}

export function usage(): string {
  const lines = OPTIONS.map((o) => `  ${o.flags.join(', ')}${o.boolean ? '' : ' <value>'}\n      ${o.help}${o.env ? ` [env ${o.env}]` : ''}`);
  return `genome-platform [options]\nThe Genome platform server (control plane): the model store and the sequencer over gRPC and REST.\nPrecedence: flags > env > defaults.\n${lines.join('\n')}`;
}
