/**
 * A seeded, time-bounded fuzzer for a server's whole network surface: REST over HTTP/1.1 (raw `net` sockets, so
 * nothing is normalised by a client library) and gRPC (a grpc-js client with identity serializers, so any bytes
 * can be sent as a message). Generic: the caller describes the surface (routes, seed bodies, gRPC methods with
 * valid encoded seed messages) and how to tell whether the server process is alive; `fuzzServer` returns a report,
 * and the test asserts on it. No test framework is imported here.
 *
 * Properties checked for every case:
 * - the server process stays up (`isAlive()` is polled every `alivePollMs` and after every connection-level
 *   anomaly; when it dies the run stops, and with `restart` the case that killed it is found by replaying each
 *   suspect alone on a fresh server);
 * - HTTP: no 500 and no other 5xx except 501, 503, 504 (and 505 for a bad version); a status line arrives within
 *   `deadlineMs + marginMs` (see "HTTP classification" below); an error answer (>= 400) either has a JSON body with
 *   a string `error` field, or is a body-less parser-level rejection (`bodylessErrorStatuses`), and is never larger
 *   than `maxErrorBytes` (errors must not echo huge caller input);
 * - gRPC: the status is never INTERNAL (13), UNKNOWN (2) or DATA_LOSS (15); the call ends (OK or error) within
 *   `deadlineMs + marginMs` (every call carries `deadline: now + deadlineMs`, so DEADLINE_EXCEEDED at the deadline
 *   is a correct answer, not a failure, except on methods marked `cheap`); the error `details` are at most
 *   `maxErrorBytes`; the server does not drop the connection instead of answering (UNAVAILABLE "Connection
 *   dropped" / GOAWAY / RST_STREAM while the process is alive). Every gRPC case runs on its own HTTP/2 connection
 *   (a local subchannel pool), so a request that wedges or kills its connection is blamed on itself, not on the
 *   calls that happened to share it.
 * RESOURCE_EXHAUSTED / 429 / 413 / 431 / 414 / 400 answers are fine: they are the server refusing politely.
 *
 * Attribution: a dying or stalled server makes every concurrent case fail, so connection-level failures are only
 * blamed on a case once the server is known to be alive, and (with `probe`) timeouts that overlap a stall (the
 * probe unanswered for `stallMs`) are counted as the stall's victims. Deaths and stalls are then pinned to a single
 * case by replaying the suspects alone (deaths need `restart`).
 *
 * HTTP classification (each generated HTTP case carries one; `expect` in the case summary):
 * - `answer`: the bytes are a complete, syntactically valid HTTP/1.x message (RFC 9112: valid request line with
 *   an RFC 3986 request-target, Host present for 1.1, consistent framing; oversized-but-well-formed requests count
 *   as valid, the server must answer 431/414/413). A status line must arrive within deadline + margin; a closed
 *   or reset connection without one is a failure (for pipelines: one answer per request unless an answer said
 *   `connection: close`).
 * - `answer-or-close`: complete but invalid HTTP (bad percent-encoding, bad version, missing Host, header
 *   injection, bad chunk sizes, conflicting lengths, CONNECT, non-HTTP garbage terminated by CRLFCRLF ...). The
 *   server may answer (then the status rules apply) or close the connection; keeping the connection open with no
 *   answer until deadline + margin is a failure (a hang).
 * - `any`: incomplete input the server may legitimately wait on (a partial request line, Content-Length larger
 *   than the bytes sent, a chunked body without its last chunk, anything sent to the gRPC port). Only process
 *   survival is checked, plus the status rules for whatever answer arrives within `anyWaitMs`.
 *
 * Reproduction: case i is generated from (seed, i) alone, so `fuzzServer({ ...opts, cases: [i] })` replays it.
 * Failures carry `seedIndex` (the case index) and a summary of the input (<= 200 chars).
 */
import { connect, type Socket } from 'node:net';
import { Client, credentials, Metadata, status as grpcStatus, type ClientReadableStream, type ClientUnaryCall, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------------------------
// Public types

export interface HttpRoute {
  /** e.g. GET, POST */
  method: string;
  /** e.g. `/v1/models/{name}:explain`; `{param}` placeholders are filled from `params` (or mutated). */
  pathTemplate: string;
}

export interface HttpSeedBody {
  /** Concrete path, e.g. `/v1/models/m:explain`. */
  path: string;
  /** A JSON value (serialized with JSON.stringify) that the server accepts. */
  body: unknown;
  /** Default POST. */
  method?: string;
  /** Default application/json. */
  contentType?: string;
}

export interface HttpSurface {
  port: number;
  routes: HttpRoute[];
  /** Valid values for path parameters, by name (default: `x`). */
  params?: Record<string, string[]>;
  seedBodies: HttpSeedBody[];
  /** Extra headers sent with every generated request (e.g. authorization). */
  headers?: Record<string, string>;
  /** Error statuses accepted with an empty body (parser-level rejections). Default 400, 408, 413, 414, 417, 431, 505. */
  bodylessErrorStatuses?: number[];
  /** 5xx statuses that are fine. Default 501, 503, 504, 505. */
  allowed5xx?: number[];
  /** How long an `any` case waits for a first byte before giving up (ms, default 1000). */
  anyWaitMs?: number;
  /** When true (default), the unmodified seed bodies must be answered 2xx (or 429/503/504). */
  seedsMustSucceed?: boolean;
}

export interface GrpcMethodSurface {
  /** Full method path, e.g. `/genome.explain.v1.Explainer/Explain`. */
  path: string;
  /** Valid encoded request messages. */
  seedRequests: Buffer[];
  serverStreaming?: boolean;
  /** Bidirectional stream: the case writes 1-3 (mutated) messages and half-closes. */
  bidiStreaming?: boolean;
  /** Field-number paths of google.protobuf.Struct fields (e.g. [[4]] or [[1, 4]]), targets of the deep Struct. */
  structFields?: number[][];
  /** Field-number paths of string fields, targets of huge strings. */
  stringFields?: number[][];
  /** When true (default), an unmodified seed must answer OK (or RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED / UNAVAILABLE). */
  seedsMustSucceed?: boolean;
  /**
   * The method does no heavy work (health, listing, reflection): whatever the input, it must answer before the
   * deadline, so DEADLINE_EXCEEDED counts as "no answer" (a failure).
   */
  cheap?: boolean;
}

/**
 * The standard services every Genome server hosts beside its own: grpc.health.v1.Health/Check (seeded with '' and
 * `service`) and server reflection v1 (seeded with a list, the symbol `service` and the file `protoFile`).
 */
export function standardGrpcSurfaces(service: string, protoFile: string): GrpcMethodSurface[] {
  return [
    { path: '/grpc.health.v1.Health/Check', seedRequests: [Buffer.alloc(0), pb.str(1, service)], stringFields: [[1]], cheap: true },
    {
      path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      bidiStreaming: true,
      seedRequests: [pb.str(7, ''), pb.str(4, service), pb.str(3, protoFile)],
      stringFields: [[3], [4], [7]],
      cheap: true,
    },
  ];
}

export interface GrpcSurface {
  port: number;
  methods: GrpcMethodSurface[];
  /** Metadata sent with every call (e.g. authorization). */
  metadata?: Record<string, string>;
}

export interface FuzzOptions {
  seed: number;
  /** Stop starting new cases after this long (in-flight cases still finish). */
  timeBudgetMs: number;
  maxCases: number;
  /** Per-call deadline: gRPC calls carry it; for REST it is the server's own per-call deadline. */
  deadlineMs: number;
  /** Slack on top of deadlineMs before an answer counts as late (default 2000). */
  marginMs?: number;
  /** Cases in flight at once (default 6). */
  concurrency?: number;
  /** Default 127.0.0.1. */
  host?: string;
  http?: HttpSurface;
  grpc?: GrpcSurface;
  isAlive(): Promise<boolean> | boolean;
  /**
   * Starts a fresh server after a death (returning its ports when they changed). Used to find the case that
   * killed the server (each suspect is replayed alone), and to keep fuzzing when `continueAfterCrash`.
   */
  restart?: () => Promise<{ httpPort?: number; grpcPort?: number } | void>;
  /** Keep fuzzing after a crash has been pinned to a case (needs `restart`). Default false: stop the run. */
  continueAfterCrash?: boolean;
  /** Text describing the death (e.g. the last lines of the server's log), added to the crash failure. */
  describeDeath?: () => string;
  /** Replay only these case indices (time budget and maxCases are ignored). */
  cases?: number[];
  /** Largest acceptable error body / gRPC details, bytes (default 4096). */
  maxErrorBytes?: number;
  /** Failures kept in the report (default 200); the rest are counted in `failuresDropped`. */
  maxFailures?: number;
  /** Examples kept per failure signature (default 5). */
  maxFailuresPerSignature?: number;
  /** Wait after a connection-level anomaly before asking isAlive() (ms, default 400). */
  deathGraceMs?: number;
  /** isAlive() poll period (ms, default 200). */
  alivePollMs?: number;
  /** Progress lines (crash detection, replays). */
  log?: (line: string) => void;
  /**
   * A cheap request that must always answer quickly (a health route outside any queue): an HTTP GET path or a gRPC
   * unary method. Polled during the run; when it gets no answer (within `timeoutMs`, default 1000) for `stallMs`
   * while the process is alive, the server is stalled (event loop blocked, ...). Timeout failures of the cases
   * running then are not blamed on them (they are counted in `stallVictims`); instead the cases running when the
   * stall began are replayed alone, while probing, to find the one that stalls the server (failure kind `stall`).
   */
  probe?: { http?: string; grpc?: { path: string; request?: Buffer }; timeoutMs?: number };
  /** Probe failing this long = a stall (ms, default marginMs). */
  stallMs?: number;
  /** Stalls whose culprit is searched by replay (default 3). */
  maxStallReplays?: number;
}

export interface FuzzFailure {
  /** crash | stall | http-5xx | http-no-answer | http-timeout | http-hang | http-error-body | http-error-too-large |
   * http-garbage-answer | http-seed-rejected | grpc-status | grpc-timeout | grpc-details-too-large |
   * grpc-seed-rejected | harness-error */
  kind: string;
  /** The case index: replay with `cases: [seedIndex]` and the same seed. */
  seedIndex: number;
  /** What was sent, summarised (<= 200 chars). */
  input: string;
  observed: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  elapsedMs: number;
  /** Outcome counts, e.g. `http 404`, `http closed`, `grpc INVALID_ARGUMENT`. */
  byStatus: Record<string, number>;
  /** Generated case kinds, e.g. `http.json`, `grpc.bitflip`. */
  byKind: Record<string, number>;
  /** Failures, at most `maxFailuresPerSignature` examples of each signature (kind + target + message shape). */
  failures: FuzzFailure[];
  /** Failures not kept in `failures` (over a per-signature or total cap); all are counted in `failureCounts`. */
  failuresDropped: number;
  /** Every failure counted by signature. */
  failureCounts: Record<string, number>;
  /** Times the server was found dead. */
  deaths: number;
  /** Times the server stopped answering the probe for at least `stallMs` while alive. */
  stalls: number;
  /** Timeout failures not blamed on their case because they overlapped a stall. */
  stallVictims: number;
  /** Why the run ended: budget, maxCases, replay, crash. */
  stoppedBecause: string;
  /** The slowest cases (not failures by themselves: where the time went, and hints of expensive inputs). */
  slowest: { seedIndex: number; ms: number; input: string; outcome: string }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32, seeded through splitmix32 from (seed, stream)).

function splitmix32(x: number): () => number {
  let s = x >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    const sm = splitmix32((seed ^ Math.imul(stream + 1, 0x27d4eb2f)) >>> 0);
    sm();
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 4294967296) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)]!;
  }

  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let r = (this.u32() / 4294967296) * total;
    for (const [w, v] of xs) {
      if ((r -= w) < 0) return v;
    }
    return xs[xs.length - 1]![1];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  /** A seed for fast-check's `fc.sample`. */
  fcSeed(): number {
    return this.u32() | 0;
  }
}

/** One value of a fast-check arbitrary, reproducible from the Rng. */
function sample<T>(rng: Rng, arb: fc.Arbitrary<T>): T {
  return fc.sample(arb, { seed: rng.fcSeed(), numRuns: 1 })[0]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf wire format: a small writer and reader (enough to build and mutate messages without their schema).

export interface PbField {
  field: number;
  wire: number;
  /** Byte range of the whole field (tag included). */
  start: number;
  end: number;
  /** Byte range of the payload (for LEN fields: after the length prefix). */
  valueStart: number;
  valueEnd: number;
}

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function readVarint(buf: Buffer, pos: number): { value: bigint; next: number } | null {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) return null;
    const b = buf[pos + i]!;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value: v, next: pos + i + 1 };
    shift += 7n;
  }
  return null;
}

export const pb = {
  varint,
  tag: (field: number, wire: number): Buffer => varint((BigInt(field) << 3n) | BigInt(wire)),
  /** A length-delimited field (sub-message, string, bytes, packed repeated). */
  len: (field: number, payload: Buffer): Buffer => Buffer.concat([pb.tag(field, 2), varint(payload.length), payload]),
  str: (field: number, s: string): Buffer => pb.len(field, Buffer.from(s, 'utf8')),
  uint: (field: number, n: number | bigint): Buffer => Buffer.concat([pb.tag(field, 0), varint(n)]),
  double: (field: number, x: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return Buffer.concat([pb.tag(field, 1), b]);
  },
  message: (...parts: Buffer[]): Buffer => Buffer.concat(parts),

  /** Top-level fields of a message, or null when the bytes are not a well-formed message. */
  parse(buf: Buffer): PbField[] | null {
    const out: PbField[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const start = pos;
      const t = readVarint(buf, pos);
      if (!t) return null;
      const field = Number(t.value >> 3n);
      const wire = Number(t.value & 7n);
      if (field === 0) return null;
      pos = t.next;
      let valueStart = pos;
      if (wire === 0) {
        const v = readVarint(buf, pos);
        if (!v) return null;
        pos = v.next;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const l = readVarint(buf, pos);
        if (!l || l.value > BigInt(buf.length)) return null;
        valueStart = l.next;
        pos = l.next + Number(l.value);
      } else return null;
      if (pos > buf.length) return null;
      out.push({ field, wire, start, end: pos, valueStart, valueEnd: pos });
    }
    return out;
  },

  /**
   * Nested length-delimited layers without quadratic copying: `prefixes[0]` is the outermost layer's bytes before
   * its length prefix; each layer is prefix + varint(length of the rest) + rest; `inner` is the innermost payload.
   */
  nest(prefixes: Buffer[], inner: Buffer): Buffer {
    const sizes = new Array<number>(prefixes.length + 1);
    sizes[prefixes.length] = inner.length;
    for (let i = prefixes.length - 1; i >= 0; i--) sizes[i] = prefixes[i]!.length + varintLength(sizes[i + 1]!) + sizes[i + 1]!;
    const out = Buffer.allocUnsafe(sizes[0]!);
    let pos = 0;
    for (let i = 0; i < prefixes.length; i++) {
      pos += prefixes[i]!.copy(out, pos);
      pos += varint(sizes[i + 1]!).copy(out, pos);
    }
    inner.copy(out, pos);
    return out;
  },

  /**
   * A google.protobuf.Struct nested `depth` containers deep: each level is a Struct field `{"k": ...}` or a
   * ListValue `[...]` (chosen by `rng`, all structs without one), innermost a number.
   */
  deepStruct(depth: number, rng?: Rng): Buffer {
    const STRUCT_FIELD = Buffer.from([0x0a]); // Struct.fields (map entry)
    const ENTRY_KEY_VALUE = Buffer.from([0x0a, 0x01, 0x6b, 0x12]); // entry.key = "k", entry.value (tag)
    const VALUE_STRUCT = Buffer.from([0x2a]); // Value.struct_value
    const VALUE_LIST = Buffer.from([0x32]); // Value.list_value
    const LIST_VALUES = Buffer.from([0x0a]); // ListValue.values
    const prefixes: Buffer[] = [];
    let atValue = false; // the outermost message is a Struct
    for (let level = 0; level < depth; level++) {
      if (!atValue) {
        prefixes.push(STRUCT_FIELD, ENTRY_KEY_VALUE);
        atValue = true;
        continue;
      }
      if (rng && rng.chance(0.5)) prefixes.push(VALUE_LIST, LIST_VALUES);
      else {
        prefixes.push(VALUE_STRUCT);
        atValue = false;
      }
    }
    const inner = atValue ? pb.double(2, 1) : Buffer.alloc(0); // Value.number_value = 1
    return pb.nest(prefixes, inner);
  },

  /** `msg` with the field at `path` (field numbers, outermost first) replaced by a LEN field holding `payload`. */
  setField(msg: Buffer, path: number[], payload: Buffer): Buffer {
    const [head, ...rest] = path;
    if (head === undefined) return payload;
    const fields = pb.parse(msg);
    if (!fields) return Buffer.concat([msg, pb.len(head, rest.length ? pb.setField(Buffer.alloc(0), rest, payload) : payload)]);
    const existing = fields.find((f) => f.field === head && f.wire === 2);
    const inner = rest.length ? pb.setField(existing ? msg.subarray(existing.valueStart, existing.valueEnd) : Buffer.alloc(0), rest, payload) : payload;
    const kept = fields.filter((f) => f.field !== head).map((f) => msg.subarray(f.start, f.end));
    return Buffer.concat([...kept, pb.len(head, inner)]);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Raw HTTP/1.x client: sends bytes as-is, parses answers leniently.

export interface HttpResponse {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  body: Buffer;
  /** ms from the connection attempt to the end of this answer. */
  atMs: number;
}

export interface HttpOutcome {
  responses: HttpResponse[];
  /** complete: all expected answers; closed/reset/refused: the connection ended first; timeout: we gave up. */
  end: 'complete' | 'closed' | 'reset' | 'refused' | 'timeout';
  error?: string;
  /** A first line that is not `HTTP/x.y NNN`. */
  garbage?: string;
  elapsedMs: number;
}

export interface HttpExchange {
  /** Byte chunks written in order; with `pauseAfterFirst`, the rest waits for a first answer (<= 1 s). */
  parts: Buffer[];
  pauseAfterFirst?: boolean;
  /** Half-close after writing (the server sees end of input). */
  halfClose?: boolean;
  /** Request methods in order (HEAD answers have no body). */
  methods: string[];
  /** Answers to wait for (pipelines). */
  responses: number;
  /** Give up after this long (ms); with `firstByteMs`, give up earlier when nothing at all arrived by then. */
  limitMs: number;
  firstByteMs?: number;
}

const MAX_READ = 32 * 1024 * 1024;

class ResponseParser {
  responses: HttpResponse[] = [];
  garbage: string | undefined;
  sawClose = false;
  private chunks: Buffer[] = [];
  private buf = Buffer.alloc(0);
  private pos = 0;
  total = 0;

  constructor(
    private readonly methods: string[],
    private readonly t0: number,
  ) {}

  feed(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.parse(false);
  }

  finish(): void {
    this.parse(true);
  }

  private parse(closed: boolean): void {
    if (this.chunks.length) {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.chunks]);
      this.pos = 0;
      this.chunks = [];
    }
    while (!this.sawClose && this.garbage === undefined && this.pos < this.buf.length) {
      const buf = this.buf;
      const he = buf.indexOf('\r\n\r\n', this.pos, 'latin1');
      if (he < 0) {
        const line = buf.subarray(this.pos, Math.min(buf.length, this.pos + 64)).toString('latin1');
        if (!'HTTP/'.startsWith(line.slice(0, 5))) this.garbage = line.split('\r\n')[0];
        else if (closed) this.garbage = `truncated answer: ${line}`;
        return;
      }
      const lines = buf.subarray(this.pos, he).toString('latin1').split('\r\n');
      const m = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(lines[0]!);
      if (!m) {
        this.garbage = lines[0]!.slice(0, 100);
        return;
      }
      const status = Number(m[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i <= 0) continue;
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      const bodyStart = he + 4;
      if (status >= 100 && status < 200) {
        this.pos = bodyStart; // interim answer (100 Continue): skip
        continue;
      }
      const method = this.methods[this.responses.length] ?? this.methods[this.methods.length - 1] ?? 'GET';
      let body: Buffer;
      let next: number;
      if (method === 'HEAD' || status === 204 || status === 304) {
        body = Buffer.alloc(0);
        next = bodyStart;
      } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const parts: Buffer[] = [];
        let p = bodyStart;
        let done = false;
        for (;;) {
          const le = buf.indexOf('\r\n', p, 'latin1');
          if (le < 0) break;
          const size = parseInt(buf.subarray(p, le).toString('latin1').split(';')[0]!.trim(), 16);
          if (!Number.isFinite(size)) {
            this.garbage = `bad chunk size in answer: ${buf.subarray(p, Math.min(le, p + 40)).toString('latin1')}`;
            return;
          }
          if (size === 0) {
            const te = buf.indexOf('\r\n\r\n', le, 'latin1');
            if (te === le) {
              p = le + 4;
              done = true;
            } else if (buf.indexOf('\r\n', le + 2, 'latin1') === le + 2) {
              p = le + 4;
              done = true;
            } else if (te >= 0) {
              p = te + 4;
              done = true;
            }
            break;
          }
          if (buf.length < le + 2 + size + 2) break;
          parts.push(buf.subarray(le + 2, le + 2 + size));
          p = le + 2 + size + 2;
        }
        if (!done) {
          if (closed) this.garbage = 'chunked answer cut short';
          return;
        }
        body = Buffer.concat(parts);
        next = p;
      } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length'].split(',')[0]);
        if (!Number.isFinite(n) || n < 0) {
          this.garbage = `bad content-length in answer: ${headers['content-length']}`;
          return;
        }
        if (buf.length < bodyStart + n) {
          if (closed) this.garbage = `answer body cut short (${buf.length - bodyStart} of ${n} bytes)`;
          return;
        }
        body = buf.subarray(bodyStart, bodyStart + n);
        next = bodyStart + n;
      } else {
        if (!closed) return; // body runs to the end of the connection
        body = buf.subarray(bodyStart);
        next = buf.length;
      }
      this.responses.push({ status, statusLine: lines[0]!, headers, body: Buffer.from(body), atMs: Date.now() - this.t0 });
      this.pos = next;
      if (/\bclose\b/i.test(headers.connection ?? '')) this.sawClose = true;
    }
  }
}

/** Opens a TCP connection, writes the exchange's bytes as-is, and collects the answers. */
export function httpExchange(host: string, port: number, x: HttpExchange): Promise<HttpOutcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const parser = new ResponseParser(x.methods, t0);
    let settled = false;
    let sock: Socket;
    const timers: NodeJS.Timeout[] = [];
    let firstData: (() => void) | undefined;
    const finish = (end: HttpOutcome['end'], error?: string) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      sock.destroy();
      resolve({ responses: parser.responses, end, ...(error ? { error } : {}), ...(parser.garbage !== undefined ? { garbage: parser.garbage } : {}), elapsedMs: Date.now() - t0 });
    };
    const enough = () => parser.responses.length >= x.responses || parser.sawClose || parser.garbage !== undefined;
    sock = connect({ host, port });
    sock.setNoDelay(true);
    timers.push(setTimeout(() => finish('timeout'), x.limitMs));
    if (x.firstByteMs !== undefined) timers.push(setTimeout(() => parser.total === 0 && finish('timeout'), x.firstByteMs));
    sock.on('data', (d: Buffer) => {
      parser.feed(d);
      firstData?.();
      if (parser.total > MAX_READ) return finish('complete', `answer larger than ${MAX_READ} bytes`);
      if (enough()) finish('complete');
    });
    sock.on('end', () => {
      parser.finish();
      finish(enough() ? 'complete' : 'closed');
    });
    sock.on('close', () => {
      parser.finish();
      finish(enough() ? 'complete' : 'closed');
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      parser.finish();
      if (enough()) return finish('complete');
      finish(err.code === 'ECONNREFUSED' ? 'refused' : 'reset', err.code ?? err.message);
    });
    sock.on('connect', async () => {
      const write = (b: Buffer) => {
        if (!settled && !sock.destroyed) sock.write(b, () => undefined);
      };
      const [first, ...rest] = x.parts;
      if (first) write(first);
      if (rest.length) {
        if (x.pauseAfterFirst) {
          await new Promise<void>((r) => {
            firstData = r;
            timers.push(setTimeout(r, 1000));
          });
          if (parser.responses.length > 0) {
            if (x.halfClose && !settled) sock.end();
            return; // a final answer came before the body: do not send it
          }
        }
        for (const b of rest) write(b);
      }
      if (x.halfClose && !settled) sock.end();
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Raw gRPC calls (identity serializers).

export interface GrpcOutcome {
  code: number;
  details: string;
  messages: number;
  elapsedMs: number;
  /** The call had not ended at deadline + margin; we cancelled it. */
  hung: boolean;
}

export interface GrpcCall {
  path: string;
  style: 'unary' | 'server-stream' | 'bidi';
  messages: Buffer[];
  metadata?: [string, string | Buffer][];
}

const identity = (b: Buffer): Buffer => b;

/** A grpc-js client that sends and receives raw bytes on any method path, on its own connection. */
export function rawGrpcClient(host: string, port: number): Client {
  return new Client(`${host}:${port}`, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.enable_retries': 0,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  });
}

export function grpcCall(client: Client, call: GrpcCall, deadlineMs: number, marginMs: number): Promise<GrpcOutcome> {
  const t0 = Date.now();
  const md = new Metadata();
  for (const [k, v] of call.metadata ?? []) md.add(k, v);
  const options = { deadline: t0 + deadlineMs };
  return new Promise((resolve, reject) => {
    let messages = 0;
    let done = false;
    let c: ClientUnaryCall | ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer> | undefined;
    const end = (code: number, details: string, hung = false) => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      resolve({ code, details, messages, elapsedMs: Date.now() - t0, hung });
    };
    const watchdog = setTimeout(() => {
      c?.cancel();
      end(-1, 'no status by deadline + margin', true);
    }, deadlineMs + marginMs);
    try {
      if (call.style === 'unary') {
        c = client.makeUnaryRequest(call.path, identity, identity, call.messages[0] ?? Buffer.alloc(0), md, options, (err: ServiceError | null) => {
          if (err) end(err.code, err.details ?? err.message);
          else {
            messages = 1;
            end(grpcStatus.OK, '');
          }
        });
      } else {
        const s = call.style === 'server-stream' ? client.makeServerStreamRequest(call.path, identity, identity, call.messages[0] ?? Buffer.alloc(0), md, options) : client.makeBidiStreamRequest(call.path, identity, identity, md, options);
        c = s;
        s.on('data', () => messages++);
        s.on('error', () => undefined); // the status event carries it
        s.on('status', (st: { code: number; details: string }) => end(st.code, st.details));
        if (call.style === 'bidi') {
          const d = s as ClientDuplexStream<Buffer, Buffer>;
          for (const m of call.messages) d.write(m);
          d.end();
        }
      }
    } catch (err) {
      clearTimeout(watchdog);
      reject(err as Error);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Case generation.

type Expect = 'answer' | 'answer-or-close' | 'any';

interface HttpCase {
  transport: 'http';
  kind: string;
  summary: string;
  /** Which port the bytes go to. */
  port: 'http' | 'grpc';
  expect: Expect;
  exchange: Omit<HttpExchange, 'limitMs' | 'firstByteMs'>;
  /** An unmodified seed: must succeed. */
  seed?: boolean;
}

interface GrpcCase {
  transport: 'grpc';
  kind: string;
  summary: string;
  call: GrpcCall;
  seed?: boolean;
}

export type Case = HttpCase | GrpcCase;

interface GenCtx {
  authority: string;
  http?: HttpSurface;
  grpc?: GrpcSurface;
}

const CRLF = '\r\n';
const KB = 1024;

function printable(b: Buffer | string, n: number): string {
  const s = typeof b === 'string' ? b.slice(0, n) : b.subarray(0, n).toString('latin1');
  return JSON.stringify(s).slice(1, -1);
}

function sizeText(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

function trunc(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function request(method: string, target: string, headers: [string, string][], body?: Buffer, version = 'HTTP/1.1'): Buffer {
  const head = `${method} ${target} ${version}${CRLF}${headers.map(([k, v]) => `${k}: ${v}${CRLF}`).join('')}${CRLF}`;
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** Request line text is sent as UTF-8 bytes (so raw unicode in a path reaches the server as UTF-8). */
function requestUtf8(method: string, target: string, headers: [string, string][], body?: Buffer, version = 'HTTP/1.1'): Buffer {
  const head = Buffer.from(`${method} ${target} ${version}${CRLF}`, 'utf8');
  const rest = request('X', '/', headers, body).subarray(`X / HTTP/1.1${CRLF}`.length);
  return Buffer.concat([head, rest]);
}

function baseHeaders(ctx: GenCtx, extra: [string, string][] = []): [string, string][] {
  return [['Host', ctx.authority], ...Object.entries(ctx.http?.headers ?? {}), ...extra];
}

const PCHAR = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;

/** RFC 9112 origin-form (or asterisk / absolute-form) request-target with valid percent-encoding. */
function strictTarget(t: string): boolean {
  if (t === '*') return true;
  let rest = t;
  const abs = /^https?:\/\/[A-Za-z0-9\-._~%!$&'()*+,;=:@[\]]*(?=\/|\?|$)/.exec(t);
  if (abs) {
    rest = t.slice(abs[0].length) || '/';
    if (/[[\]]/.test(abs[0]) && !/^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d*)?$/.test(abs[0])) return false;
  }
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (!path.startsWith('/')) return false;
  if (!path.slice(1).split('/').every((seg) => PCHAR.test(seg))) return false;
  return /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/.test(query);
}

const PCT_JUNK = ['%ZZ', '%', '%C0%AF', '%00', '%2F', '%2e%2e', '%25', '%E2%82', '%FF', '%u0041', '%%', '%0A', '%0D%0A', '%5C', '%3A'];

function mutateParam(rng: Rng, valid: string): { text: string; op: string } {
  return rng.weighted<() => { text: string; op: string }>([
    [3, () => ({ text: valid, op: 'valid' })],
    [4, () => {
      const j = rng.pick(PCT_JUNK);
      const at = rng.int(valid.length + 1);
      return { text: valid.slice(0, at) + j + valid.slice(at), op: `junk ${j}` };
    }],
    [3, () => {
      const j = rng.pick(PCT_JUNK);
      return { text: j, op: `junk ${j}` };
    }],
    [2, () => {
      const n = rng.pick([10 * KB, 100 * KB]);
      return { text: rng.chance(0.5) ? 'a'.repeat(n) : '%41'.repeat(Math.ceil(n / 3)), op: `long ${sizeText(n)}` };
    }],
    [3, () => {
      const s = sample(rng, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }));
      return rng.chance(0.5) ? { text: encodeURIComponent(s), op: 'unicode (encoded)' } : { text: s, op: 'unicode (raw)' };
    }],
    [3, () => {
      const t = rng.pick(['..', '.', '../..', '', '//', '/', `${valid}/..`, `../${valid}`, `${valid}//`, ':explain', `${valid}:explain:explain`, valid.toUpperCase(), ' ', '\t', '"', "'", '<x>', '{name}']);
      return { text: t, op: `odd ${JSON.stringify(t)}` };
    }],
  ])();
}

function mutateQuery(rng: Rng): string {
  return rng.pick(['?a=1', '?a=1&b', '?%ZZ', '?x=%', `?x=${'q'.repeat(rng.pick([100, 10 * KB]))}`, '?', '??', '?a[b]=c&a[]=d', '?&&&==', '#frag', '?x=é', '?%00=%00', '?format=json&timeout=1', '?;', '?a=1#b']);
}

function fillTemplate(rng: Rng, ctx: GenCtx, tmpl: string, mutate: boolean): { path: string; ops: string[] } {
  const ops: string[] = [];
  const path = tmpl.replace(/\{(\w+)\}/g, (_, name: string) => {
    const valid = rng.pick(ctx.http!.params?.[name] ?? ['x']);
    if (!mutate) return valid;
    const m = mutateParam(rng, valid);
    if (m.op !== 'valid') ops.push(`{${name}} ${m.op}`);
    return m.text;
  });
  return { path, ops };
}

function validGet(rng: Rng, ctx: GenCtx): string {
  const gets = ctx.http!.routes.filter((r) => r.method === 'GET');
  if (gets.length === 0) return '/';
  return fillTemplate(rng, ctx, rng.pick(gets).pathTemplate, false).path;
}

function seedBody(rng: Rng, ctx: GenCtx): { method: string; path: string; body: Buffer; contentType: string; value: unknown } {
  const s = rng.pick(ctx.http!.seedBodies);
  return { method: s.method ?? 'POST', path: s.path, body: Buffer.from(JSON.stringify(s.body), 'utf8'), contentType: s.contentType ?? 'application/json', value: s.body };
}

function validRequest(rng: Rng, ctx: GenCtx, close = false): { bytes: Buffer; method: string; what: string } {
  const conn: [string, string][] = close ? [['Connection', 'close']] : [];
  if (ctx.http!.seedBodies.length && rng.chance(0.4)) {
    const s = seedBody(rng, ctx);
    return { bytes: request(s.method, s.path, baseHeaders(ctx, [['Content-Type', s.contentType], ['Content-Length', String(s.body.length)], ...conn]), s.body), method: s.method, what: `${s.method} ${s.path}` };
  }
  const p = validGet(rng, ctx);
  return { bytes: request('GET', p, baseHeaders(ctx, conn)), method: 'GET', what: `GET ${p}` };
}

function httpCase(kind: string, expect: Expect, parts: Buffer[], methods: string[], what: string, extra: Partial<HttpCase> & Partial<HttpExchange> = {}): HttpCase {
  const total = parts.reduce((s, b) => s + b.length, 0);
  const { port = 'http', seed, pauseAfterFirst, halfClose, responses = 1 } = extra;
  const summary = trunc(`http.${kind} [${expect}] ${what} (${sizeText(total)}): ${printable(parts[0] ?? Buffer.alloc(0), 90)}`, 200);
  return { transport: 'http', kind: `http.${kind}`, summary, port, expect, exchange: { parts, methods, responses, ...(pauseAfterFirst ? { pauseAfterFirst } : {}), ...(halfClose ? { halfClose } : {}) }, ...(seed ? { seed } : {}) };
}

/** Valid routes with mutated path parameters, path shapes, methods and query strings. */
function genHttpPath(rng: Rng, ctx: GenCtx): HttpCase {
  const route = rng.pick(ctx.http!.routes);
  const { path: filled, ops } = fillTemplate(rng, ctx, route.pathTemplate, true);
  let path = filled;
  if (rng.chance(0.25)) {
    const shape = rng.pick(['//prefix', 'double-slash', 'trailing-slash', 'dot-segment', 'dotdot-segment', 'upper', 'no-leading-slash', 'backslash']);
    ops.push(shape);
    if (shape === '//prefix') path = `/${path}`;
    else if (shape === 'double-slash') path = path.replace(/\//g, (s) => (rng.chance(0.5) ? '//' : s));
    else if (shape === 'trailing-slash') path = `${path}/`;
    else if (shape === 'dot-segment') path = path.replace(/\/(?=[^/]*$)/, '/./');
    else if (shape === 'dotdot-segment') path = path.replace(/\/(?=[^/]*$)/, '/x/../');
    else if (shape === 'upper') path = path.toUpperCase();
    else if (shape === 'no-leading-slash') path = path.replace(/^\/+/, '');
    else path = path.replace(/\//g, '\\');
  }
  if (rng.chance(0.3)) {
    const q = mutateQuery(rng);
    ops.push(`query ${trunc(q, 20)}`);
    path += q;
  }
  let method = route.method;
  if (rng.chance(0.15)) {
    method = rng.pick(['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'FOO', 'get', 'M-SEARCH', 'PROPFIND']);
    ops.push(`method ${method}`);
  }
  const headers: [string, string][] = [];
  let body: Buffer | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || rng.chance(0.05)) {
    body = ctx.http!.seedBodies.length ? seedBody(rng, ctx).body : Buffer.from('{}');
    headers.push(['Content-Type', 'application/json'], ['Content-Length', String(body.length)]);
  }
  const bytes = requestUtf8(method, path, baseHeaders(ctx, headers), body);
  // Methods are tokens; a lowercase or unknown token is still syntactically valid HTTP.
  const expect: Expect = strictTarget(path) ? 'answer' : 'answer-or-close';
  return httpCase('path', expect, [bytes], [method], `${method} ${ops.join(', ') || 'valid'}`);
}

function chunked(body: Buffer, rng: Rng): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  while (p < body.length) {
    const n = Math.min(body.length - p, rng.range(1, Math.max(1, Math.ceil(body.length / 2))));
    out.push(Buffer.from(`${n.toString(16)}${CRLF}`), body.subarray(p, p + n), Buffer.from(CRLF));
    p += n;
  }
  out.push(Buffer.from(`0${CRLF}${CRLF}`));
  return Buffer.concat(out);
}

function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Raw request lines and framing sent over a socket as-is. */
function genHttpRaw(rng: Rng, ctx: GenCtx): HttpCase {
  const H = (extra: [string, string][] = []) => baseHeaders(ctx, extra);
  const noHost = (extra: [string, string][] = []) => [...Object.entries(ctx.http!.headers ?? {}), ...extra] as [string, string][];
  const get = () => validGet(rng, ctx);
  const hasGrpc = !!ctx.grpc;
  const gens: [number, () => HttpCase][] = [
    [4, () => {
      const t = rng.pick(['//', '///', '//x', '//v1/models', '/..', '/../../etc/passwd', '/./v2/health/live', '/%2e%2e/', '/v1/models/..%2f..%2f', `//${ctx.authority}/v1/models`, '/v1/models/%2F', '/;', '/@', '/:']);
      return httpCase('raw', 'answer', [request('GET', t, H())], ['GET'], `GET ${t}`);
    }],
    [4, () => {
      const route = rng.pick(ctx.http!.routes);
      const j = rng.pick(PCT_JUNK.filter((x) => !/^%[0-9A-Fa-f]{2}$/.test(x)));
      const t = route.pathTemplate.replace(/\{\w+\}/g, j);
      const raw = rng.chance(0.3) ? `/${j}` : t;
      const method = rng.chance(0.7) ? route.method : 'GET';
      const body = method === 'POST' ? Buffer.from('{}') : undefined;
      return httpCase('raw', 'answer-or-close', [request(method, raw, H(body ? [['Content-Length', '2']] : []), body)], [method], `${method} ${raw}`);
    }],
    [3, () => {
      const p = get();
      const t = rng.pick([`http://${ctx.authority}${p}`, `http://other.example${p}`, `https://x${p}`, `http://${ctx.authority}`, `HTTP://${ctx.authority.toUpperCase()}${p}`]);
      return httpCase('raw', 'answer', [request('GET', t, H())], ['GET'], `absolute-form ${t}`);
    }],
    [2, () => {
      const t = rng.pick([`http://[::1${get()}`, 'http:/v1/models', 'http://', 'ftp://x/', 'http://a b/', 'http://%ZZ/', `http://user:pass@${ctx.authority}${get()}`, '*']);
      const method = t === '*' ? 'GET' : 'GET';
      return httpCase('raw', strictTarget(t) && !t.includes('@') ? 'answer' : 'answer-or-close', [request(method, t, H())], [method], `odd target ${t}`);
    }],
    [1, () => httpCase('raw', 'answer', [request('OPTIONS', '*', H())], ['OPTIONS'], 'OPTIONS *')],
    [3, () => {
      const v = rng.pick(['no-host-1.1', 'two-hosts', 'host-junk', 'host-empty', '1.0-no-host']);
      const p = get();
      if (v === 'no-host-1.1') return httpCase('raw', 'answer-or-close', [request('GET', p, noHost())], ['GET'], `GET ${p} without Host`);
      if (v === 'two-hosts') return httpCase('raw', 'answer-or-close', [request('GET', p, H([['Host', 'other.example']]))], ['GET'], 'two Host headers');
      if (v === 'host-junk') return httpCase('raw', 'answer-or-close', [request('GET', p, noHost([['Host', rng.pick(['%ZZ', 'a b', '[::1', ':::', 'x'.repeat(2000), '\x01'])]]))], ['GET'], 'junk Host');
      if (v === 'host-empty') return httpCase('raw', 'answer-or-close', [request('GET', p, noHost([['Host', '']]))], ['GET'], 'empty Host');
      return httpCase('raw', 'answer', [request('GET', p, noHost(), undefined, 'HTTP/1.0')], ['GET'], `HTTP/1.0 GET ${p} without Host`);
    }],
    [3, () => {
      const v = rng.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/0.9', 'HTTP/1', 'HTTP/1.1.1', 'HTTP/11', 'http/1.1', 'HTTP/ 1.1', 'HTTPS/1.1', 'HTTP/1.1 extra', '']);
      const p = get();
      const line = v === '' ? `GET ${p}${CRLF}${CRLF}` : undefined;
      const bytes = line ? Buffer.from(line, 'latin1') : request('GET', p, H(), undefined, v);
      return httpCase('raw', 'answer-or-close', [bytes], ['GET'], `version ${JSON.stringify(v)}`);
    }],
    [3, () => {
      const v = rng.pick(['one-100KB-header', 'many-headers', 'url-100KB', 'header-15KB', 'url-10KB']);
      const p = get();
      if (v === 'one-100KB-header') return httpCase('raw', 'answer', [request('GET', p, H([['X-Big', 'a'.repeat(100 * KB)]]))], ['GET'], 'one 100 KB header');
      if (v === 'many-headers') return httpCase('raw', 'answer', [request('GET', p, H(Array.from({ length: 2000 }, (_, i): [string, string] => [`X-H${i}`, 'v'.repeat(40)])))], ['GET'], '2000 headers (~100 KB)');
      if (v === 'header-15KB') return httpCase('raw', 'answer', [request('GET', p, H([['X-Big', 'a'.repeat(15 * KB)]]))], ['GET'], 'one 15 KB header');
      const route = rng.pick(ctx.http!.routes);
      const n = v === 'url-100KB' ? 100 * KB : 10 * KB;
      const t = route.pathTemplate.includes('{') ? route.pathTemplate.replace(/\{\w+\}/, 'a'.repeat(n)).replace(/\{\w+\}/g, 'x') : `${route.pathTemplate}?q=${'a'.repeat(n)}`;
      const body = route.method === 'POST' ? Buffer.from('{}') : undefined;
      return httpCase('raw', 'answer', [request(route.method, t, H(body ? [['Content-Length', '2']] : []), body)], [route.method], `${route.method} URL ${sizeText(t.length)}`);
    }],
    [4, () => {
      const p = get();
      const v = rng.pick(['bare-lf-value', 'bare-cr-value', 'nul-value', 'obs-fold', 'space-before-colon', 'empty-name', 'bad-name', 'crlf-in-target', 'lf-only', 'ctl-in-target', 'space-in-target', 'tab-separator']);
      const raw: Record<string, string> = {
        'bare-lf-value': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}X-A: b\nX-Injected: c${CRLF}${CRLF}`,
        'bare-cr-value': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}X-A: b\rX-Injected: c${CRLF}${CRLF}`,
        'nul-value': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}X-A: b\0c${CRLF}${CRLF}`,
        'obs-fold': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}X-A: b${CRLF} folded${CRLF}${CRLF}`,
        'space-before-colon': `GET ${p} HTTP/1.1${CRLF}Host : ${ctx.authority}${CRLF}${CRLF}`,
        'empty-name': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}: x${CRLF}${CRLF}`,
        'bad-name': `GET ${p} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}X(A): x${CRLF}${CRLF}`,
        'crlf-in-target': `GET ${p}${CRLF}X-Injected: y HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}${CRLF}`,
        'lf-only': `GET ${p} HTTP/1.1\nHost: ${ctx.authority}\n\n`,
        'ctl-in-target': `GET ${p}\x01\x7f HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}${CRLF}`,
        'space-in-target': `GET ${p} x HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}${CRLF}`,
        'tab-separator': `GET\t${p}\tHTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}${CRLF}`,
      };
      return httpCase('raw', 'answer-or-close', [Buffer.from(raw[v]!, 'latin1')], ['GET'], `header/line injection ${v}`);
    }],
    [4, () => {
      const n = rng.pick([2, 3, 5, 10, 50]);
      const reqs = Array.from({ length: n }, () => validRequest(rng, ctx));
      return httpCase('raw', 'answer', [Buffer.concat(reqs.map((r) => r.bytes))], reqs.map((r) => r.method), `pipelined ${n}: ${reqs.slice(0, 3).map((r) => r.what).join(', ')}`, { responses: n });
    }],
    [2, () => {
      // A valid request followed by garbage in the same write: the first answer is required.
      const r = validRequest(rng, ctx);
      const junk = rng.chance(0.5) ? rng.bytes(rng.range(1, 200)) : Buffer.from(`GARBAGE / HTTP/1.1${CRLF}${CRLF}`);
      return httpCase('raw', 'answer', [Buffer.concat([r.bytes, junk])], [r.method, 'GET'], `${r.what} then ${junk.length} B of junk`);
    }],
    [5, () => {
      if (!ctx.http!.seedBodies.length) return httpCase('raw', 'answer', [request('GET', get(), H())], ['GET'], 'GET');
      const s = seedBody(rng, ctx);
      const v = rng.pick(['valid', 'valid', 'zz', 'neg', 'overflow', 'leading-space', 'ext', '0x', 'too-small', 'too-large', 'no-last-chunk', 'no-crlf-after-data', 'long-ext', 'te-and-cl', 'te-gzip', 'te-chunked-twice', 'te-1.0', 'te-Chunked']);
      const hdr = (te = 'chunked', extra: [string, string][] = []) => request(s.method, s.path, H([['Content-Type', s.contentType], ['Transfer-Encoding', te], ...extra]));
      const b = s.body;
      const mk = (kind: Expect, body: string | Buffer, what: string, head = hdr(), halfClose = false) => httpCase('raw', kind, [head, typeof body === 'string' ? Buffer.from(body, 'latin1') : body], [s.method], `chunked ${what} ${s.path}`, halfClose ? { halfClose } : {});
      switch (v) {
        case 'valid':
          return mk('answer', chunked(b, rng), 'valid');
        case 'te-Chunked':
          return mk('answer', chunked(b, rng), 'TE "Chunked"', hdr('Chunked'));
        case 'zz':
          return mk('answer-or-close', `zz${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size zz');
        case 'neg':
          return mk('answer-or-close', `-1${CRLF}x${CRLF}0${CRLF}${CRLF}`, 'size -1');
        case 'overflow':
          return mk('answer-or-close', `FFFFFFFFFFFFFFFFFFFF${CRLF}x${CRLF}0${CRLF}${CRLF}`, 'size overflow');
        case 'leading-space':
          return mk('answer-or-close', ` ${b.length.toString(16)}${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size with leading space');
        case 'ext':
          return mk('answer', `${b.length.toString(16)};a=b${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size with extension');
        case '0x':
          return mk('answer-or-close', `0x${b.length.toString(16)}${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size 0x..');
        case 'too-small':
          return mk('answer-or-close', `1${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size smaller than data');
        case 'too-large':
          return mk('any', `${(b.length + 100).toString(16)}${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, 'size larger than data', hdr(), rng.chance(0.5));
        case 'no-last-chunk':
          return mk('any', `${b.length.toString(16)}${CRLF}${b.toString('latin1')}${CRLF}`, 'without last chunk', hdr(), rng.chance(0.5));
        case 'no-crlf-after-data':
          return mk('answer-or-close', `${b.length.toString(16)}${CRLF}${b.toString('latin1')}XX0${CRLF}${CRLF}`, 'junk after chunk data');
        case 'long-ext':
          return mk('answer-or-close', `${b.length.toString(16)};${'e'.repeat(100 * KB)}${CRLF}${b.toString('latin1')}${CRLF}0${CRLF}${CRLF}`, '100 KB chunk extension');
        case 'te-and-cl':
          return mk('answer-or-close', chunked(b, rng), 'with Content-Length too', hdr('chunked', [['Content-Length', String(b.length)]]));
        case 'te-gzip':
          return mk('answer-or-close', b, 'TE gzip', hdr('gzip'));
        case 'te-chunked-twice':
          return mk('answer-or-close', chunked(b, rng), 'TE chunked, chunked', hdr('chunked, chunked'));
        default:
          return httpCase('raw', 'answer-or-close', [request(s.method, s.path, H([['Transfer-Encoding', 'chunked']]), chunked(b, rng), 'HTTP/1.0')], [s.method], 'chunked in HTTP/1.0');
      }
    }],
    [5, () => {
      if (!ctx.http!.seedBodies.length) return httpCase('raw', 'answer', [request('GET', get(), H())], ['GET'], 'GET');
      const s = seedBody(rng, ctx);
      const b = s.body;
      const v = rng.pick(['smaller', 'larger-halfclose', 'larger-open', 'negative', 'text', 'exp', 'two-values', 'plus', 'overflow', 'huge-valid', 'list-same', 'zero-with-body']);
      const mk = (kind: Expect, cl: string | string[], what: string, extra: Partial<HttpCase> & Partial<HttpExchange> = {}, body: Buffer = b) => {
        const cls = Array.isArray(cl) ? cl : [cl];
        return httpCase('raw', kind, [request(s.method, s.path, H([['Content-Type', s.contentType], ...cls.map((c): [string, string] => ['Content-Length', c])]), body)], [s.method, 'GET'], `Content-Length ${what} ${s.path}`, extra);
      };
      switch (v) {
        case 'smaller':
          return mk('answer', String(Math.max(0, b.length - rng.range(1, b.length))), 'smaller than body');
        case 'larger-halfclose':
          return mk('any', String(b.length + rng.range(1, 1000)), 'larger than body, then half-close', { halfClose: true });
        case 'larger-open':
          return mk('any', String(b.length + rng.range(1, 1000)), 'larger than body');
        case 'negative':
          return mk('answer-or-close', '-1', '-1');
        case 'text':
          return mk('answer-or-close', 'abc', 'abc');
        case 'exp':
          return mk('answer-or-close', '1e3', '1e3');
        case 'two-values':
          return mk('answer-or-close', [String(b.length), String(b.length + 1)], 'two different values');
        case 'plus':
          return mk('answer-or-close', `+${b.length}`, '+n');
        case 'overflow':
          return mk('answer-or-close', '99999999999999999999', 'overflow');
        case 'huge-valid':
          return mk('any', '1000000000000', '10^12 (valid, body never comes)');
        case 'list-same':
          return mk('answer-or-close', `${b.length}, ${b.length}`, '"n, n"');
        default:
          return mk('answer', '0', '0 with a body after it');
      }
    }],
    [3, () => {
      if (!ctx.http!.seedBodies.length) return httpCase('raw', 'answer', [request('GET', get(), H())], ['GET'], 'GET');
      const s = seedBody(rng, ctx);
      const v = rng.pick(['100-continue', '100-continue', 'other']);
      const expectValue = v === 'other' ? rng.pick(['200-ok', 'foo', '100-continue, foo']) : '100-continue';
      const head = request(s.method, s.path, H([['Content-Type', s.contentType], ['Content-Length', String(s.body.length)], ['Expect', expectValue]]));
      return httpCase('raw', 'answer', [head, s.body], [s.method], `Expect: ${expectValue} ${s.path}`, { pauseAfterFirst: true });
    }],
    [2, () => {
      const v = rng.pick(['connect', 'upgrade-ws', 'upgrade-h2c']);
      if (v === 'connect') return httpCase('raw', 'answer-or-close', [request('CONNECT', ctx.authority, H())], ['CONNECT'], 'CONNECT');
      const p = get();
      const up = v === 'upgrade-ws' ? [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']] : [['Connection', 'Upgrade, HTTP2-Settings'], ['Upgrade', 'h2c'], ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']];
      return httpCase('raw', 'answer-or-close', [request('GET', p, H(up as [string, string][]))], ['GET'], `GET ${p} ${v}`);
    }],
    [4, () => {
      const v = rng.pick(['random-bytes', 'random-line', 'h2-preface', 'tls-hello', 'partial-line', 'partial-headers', 'only-crlf', 'binary-then-crlf']);
      switch (v) {
        case 'random-bytes':
          return httpCase('raw', 'any', [rng.bytes(rng.range(1, 4096))], ['GET'], 'random bytes');
        case 'random-line': {
          const s = sample(rng, fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 80 }));
          return httpCase('raw', 'answer-or-close', [Buffer.from(`${s}${CRLF}${CRLF}`, 'latin1')], ['GET'], 'random line');
        }
        case 'h2-preface':
          return httpCase('raw', 'answer-or-close', [H2_PREFACE], ['GET'], 'HTTP/2 preface on the HTTP/1 port');
        case 'tls-hello':
          return httpCase('raw', 'answer-or-close', [Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), rng.bytes(200)])], ['GET'], 'TLS ClientHello on a plaintext port');
        case 'partial-line':
          return httpCase('raw', 'any', [Buffer.from(`GET ${get()}`, 'latin1')], ['GET'], 'partial request line');
        case 'partial-headers':
          return httpCase('raw', 'any', [Buffer.from(`GET ${get()} HTTP/1.1${CRLF}Host: ${ctx.authority}${CRLF}`, 'latin1')], ['GET'], 'headers not terminated', { halfClose: rng.chance(0.5) });
        case 'only-crlf':
          return httpCase('raw', 'any', [Buffer.from(CRLF.repeat(rng.range(1, 50)), 'latin1')], ['GET'], 'only CRLFs');
        default:
          return httpCase('raw', 'answer-or-close', [Buffer.concat([rng.bytes(rng.range(1, 300)), Buffer.from(`${CRLF}${CRLF}`)])], ['GET'], 'binary then CRLFCRLF');
      }
    }],
  ];
  if (hasGrpc) {
    gens.push([3, () => {
      const v = rng.pick(['http1-get', 'random', 'h2-preface-frames', 'h2-preface-only', 'h2-bad-headers']);
      const to = { port: 'grpc' as const };
      switch (v) {
        case 'http1-get':
          return httpCase('grpc-port', 'any', [request('GET', rng.pick(['/', '/genome.explain.v1.Explainer/Explain', '//']), H())], ['GET'], 'HTTP/1.1 GET to the gRPC port', to);
        case 'random':
          return httpCase('grpc-port', 'any', [rng.bytes(rng.range(1, 4096))], ['GET'], 'random bytes to the gRPC port', to);
        case 'h2-preface-only':
          return httpCase('grpc-port', 'any', [H2_PREFACE], ['GET'], 'HTTP/2 preface only', to);
        case 'h2-bad-headers': {
          const settings = h2Frame(0x4, 0, 0, Buffer.alloc(0));
          const headers = h2Frame(0x1, 0x4 | (rng.chance(0.5) ? 0x1 : 0), rng.pick([1, 2, 3, 0x7fffffff]), rng.bytes(rng.range(0, 300)));
          return httpCase('grpc-port', 'any', [Buffer.concat([H2_PREFACE, settings, headers])], ['GET'], 'HTTP/2 HEADERS with junk HPACK', to);
        }
        default: {
          const frames = Array.from({ length: rng.range(1, 8) }, () => h2Frame(rng.int(12), rng.int(256), rng.int(8), rng.bytes(rng.range(0, 200))));
          return httpCase('grpc-port', 'any', [Buffer.concat([H2_PREFACE, h2Frame(0x4, 0, 0, Buffer.alloc(0)), ...frames])], ['GET'], `HTTP/2 preface + ${frames.length} random frames`, to);
        }
      }
    }]);
  }
  return rng.weighted(gens)();
}

// JSON mutation --------------------------------------------------------------------------------------------------

class RawJson {
  constructor(readonly text: string) {}
}

function stringify(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(stringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Deep copy of a JSON tree (RawJson leaves are immutable and shared). */
function cloneJson(v: unknown): unknown {
  if (v instanceof RawJson || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneJson);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneJson(x)]));
}

type JPath = (string | number)[];

function paths(v: unknown, prefix: JPath = [], out: JPath[] = []): JPath[] {
  out.push(prefix);
  if (out.length > 5000) return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object' && !(v instanceof RawJson)) for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function getAt(v: unknown, p: JPath): unknown {
  return p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v);
}

function setAt(root: unknown, p: JPath, value: unknown): unknown {
  if (p.length === 0) return value;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown>;
  parent[p[p.length - 1]!] = value;
  return root;
}

function dropAt(root: unknown, p: JPath): unknown {
  if (p.length === 0) return root;
  const parent = getAt(root, p.slice(0, -1));
  const k = p[p.length - 1]!;
  if (Array.isArray(parent)) parent.splice(k as number, 1);
  else delete (parent as Record<string, unknown>)[k as string];
  return root;
}

function showPath(p: JPath): string {
  return `$${p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${trunc(k, 12)}`)).join('')}`;
}

/** Upper bound for bodies built by repetition (rows repeated, fields duplicated). */
const MAX_GENERATED = 2 * 1024 * 1024;

const NUMBER_TOKENS = ['1e309', '-1e309', '-0', 'NaN', 'Infinity', '-Infinity', '1e-400', '9007199254740993', '1.7976931348623157e308', '0x10', '01', '1.', '.5', '+1', '1_000', '1e', '--1', '0.0000000000000000000000000000001e-330'];

function deepArray(n: number, rng: Rng): string {
  const inner = rng.pick(['', '1', '"x"', 'null', '{}']);
  return `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
}

function deepObject(n: number): string {
  return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
}

/** Mutated JSON bodies of the seed requests, and random JSON values. */
function genHttpJson(rng: Rng, ctx: GenCtx): HttpCase {
  if (!ctx.http!.seedBodies.length) return genHttpPath(rng, ctx);
  const s = seedBody(rng, ctx);
  let value: unknown = cloneJson(s.value);
  const ops: string[] = [];
  let bodyText: string | undefined;
  let contentType: string | undefined = s.contentType;
  const byteOps: ((b: Buffer) => Buffer)[] = [];
  const mutations = rng.weighted([
    [2, 0],
    [10, 1],
    [5, 2],
    [2, 3],
  ] as const);
  if (mutations === 0) ops.push('unmodified seed');
  for (let i = 0; i < mutations; i++) {
    const all = paths(value);
    const p = rng.pick(all);
    const here = getAt(value, p);
    const op = rng.weighted<string>([
      [6, 'drop'],
      [4, 'duplicate-key'],
      [6, 'retype'],
      [7, 'number'],
      [5, 'deep'],
      [3, 'big-string'],
      [4, 'random-json'],
      [3, 'unicode'],
      [2, 'extra-field'],
      [2, 'many-rows'],
      [2, 'huge-array'],
      [3, 'whole-body'],
      [3, 'bytes'],
      [2, 'content-type'],
    ]);
    switch (op) {
      case 'drop': {
        const q = all.length > 1 ? rng.pick(all.slice(1)) : p;
        if (q.length === 0) break;
        value = dropAt(value, q);
        ops.push(`drop ${showPath(q)}`);
        break;
      }
      case 'duplicate-key': {
        const objs = all.filter((q) => {
          const x = getAt(value, q);
          return x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof RawJson) && Object.keys(x).length > 0;
        });
        if (!objs.length) break;
        const q = rng.pick(objs);
        const o = getAt(value, q) as Record<string, unknown>;
        const k = rng.pick(Object.keys(o));
        const other = rng.pick<unknown>([null, 'x', 1, [], {}, o[k]]);
        const entries = Object.entries(o).map(([kk, x]) => `${JSON.stringify(kk)}:${stringify(x)}`);
        entries.push(`${JSON.stringify(k)}:${stringify(other)}`);
        value = setAt(value, q, new RawJson(`{${entries.join(',')}}`));
        ops.push(`duplicate key ${showPath([...q, k])}`);
        break;
      }
      case 'retype': {
        const to = rng.pick<unknown>([typeof here === 'string' ? 1 : String(stringify(here)).slice(0, 100), null, {}, [], true, false, [here], { value: here }, '']);
        value = setAt(value, p, to);
        ops.push(`retype ${showPath(p)} -> ${trunc(stringify(to), 20)}`);
        break;
      }
      case 'number': {
        const nums = all.filter((q) => typeof getAt(value, q) === 'number');
        const q = nums.length ? rng.pick(nums) : p;
        const v = rng.weighted<unknown>([
          [5, new RawJson(rng.pick(NUMBER_TOKENS))],
          [2, rng.pick([1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -(2 ** 31), 2 ** 32, 2 ** 64, 5e-324, 0])],
          [1, String(getAt(value, q))],
          [1, null],
          [1, {}],
          [1, [1]],
        ]);
        value = setAt(value, q, v);
        ops.push(`number ${showPath(q)} -> ${trunc(stringify(v), 24)}`);
        break;
      }
      case 'deep': {
        const n = rng.weighted([
          [6, 10_000],
          [2, 1000],
          [2, 100_000],
        ] as const);
        const arr = rng.chance(0.7);
        value = setAt(value, p, new RawJson(arr ? deepArray(n, rng) : deepObject(n)));
        ops.push(`${arr ? 'array' : 'object'} nested ${n} deep at ${showPath(p)}`);
        break;
      }
      case 'big-string': {
        const n = rng.pick([64 * KB, 1024 * KB]);
        const str = rng.chance(0.7) ? 'A'.repeat(n) : 'é😀'.repeat(Math.ceil(n / 6));
        if (rng.chance(0.3) && here !== null && typeof here === 'object' && !Array.isArray(here) && !(here instanceof RawJson)) {
          (here as Record<string, unknown>)[str] = 1;
          ops.push(`${sizeText(n)} key in ${showPath(p)}`);
        } else {
          value = setAt(value, p, str);
          ops.push(`${sizeText(n)} string at ${showPath(p)}`);
        }
        break;
      }
      case 'random-json': {
        const v = sample(rng, fc.jsonValue({ maxDepth: 4 }));
        value = setAt(value, p, v);
        ops.push(`random JSON at ${showPath(p)}: ${trunc(stringify(v), 30)}`);
        break;
      }
      case 'unicode': {
        const v = rng.chance(0.5) ? sample(rng, fc.string({ unit: 'grapheme', maxLength: 30 })) : new RawJson(rng.pick(['"\\ud800"', '"\\udc00x"', '"\\u0000"', '"\\uZZZZ"', '"\\x41"', '"a\nb"', '"\\"', '"\u2028"']));
        value = setAt(value, p, v);
        ops.push(`string ${showPath(p)} -> ${trunc(stringify(v), 20)}`);
        break;
      }
      case 'extra-field': {
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof RawJson)) {
          const k = rng.pick(['__proto__', 'constructor', 'prototype', 'extra', 'toString', 'hasOwnProperty', '']);
          const raw = `{${Object.entries(value as Record<string, unknown>)
            .map(([kk, x]) => `${JSON.stringify(kk)}:${stringify(x)}`)
            .concat(`${JSON.stringify(k)}:${stringify(rng.pick<unknown>([{ polluted: true }, 1, null, []]))}`)
            .join(',')}}`;
          value = new RawJson(raw);
          ops.push(`extra field ${JSON.stringify(k)}`);
        }
        break;
      }
      case 'many-rows': {
        const arrs = all.filter((q) => Array.isArray(getAt(value, q)) && (getAt(value, q) as unknown[]).length > 0);
        if (!arrs.length) break;
        const q = rng.pick(arrs);
        const a = getAt(value, q) as unknown[];
        // Keep the body under ~2 MB whatever earlier mutations put in the items.
        const itemBytes = Math.max(1, stringify(a).length / a.length);
        const n = Math.max(a.length, Math.min(rng.pick([100, 1000, 5000]), Math.floor(MAX_GENERATED / itemBytes)));
        value = setAt(value, q, Array.from({ length: n }, (_, i) => cloneJson(a[i % a.length])));
        ops.push(`${showPath(q)} repeated to ${n} items`);
        break;
      }
      case 'huge-array': {
        const n = rng.pick([100_000, 1_000_000]);
        value = setAt(value, p, new RawJson(`[${'1,'.repeat(n - 1)}1]`));
        ops.push(`array of ${n} numbers at ${showPath(p)}`);
        break;
      }
      case 'whole-body': {
        const v = rng.pick(['random-json', 'empty', 'whitespace', 'null', 'array', 'string', 'number', 'two-values', 'trailing-garbage', 'truncated']);
        if (v === 'random-json') bodyText = JSON.stringify(sample(rng, fc.jsonValue({ maxDepth: 5 })));
        else if (v === 'empty') bodyText = '';
        else if (v === 'whitespace') bodyText = ' \n\t ';
        else if (v === 'null') bodyText = 'null';
        else if (v === 'array') bodyText = `[${stringify(value)}]`;
        else if (v === 'string') bodyText = JSON.stringify(stringify(value));
        else if (v === 'number') bodyText = '42';
        else if (v === 'two-values') bodyText = `${stringify(value)} ${stringify(value)}`;
        else if (v === 'trailing-garbage') bodyText = `${stringify(value)}x`;
        else {
          const t = stringify(value);
          bodyText = t.slice(0, rng.int(t.length));
        }
        ops.push(`body ${v}`);
        break;
      }
      case 'bytes': {
        const v = rng.pick(['bom', 'invalid-utf8', 'nul', 'latin1']);
        ops.push(`bytes ${v}`);
        if (v === 'bom') byteOps.push((b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]));
        else {
          const bad = v === 'invalid-utf8' ? rng.pick([[0xc0, 0xaf], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]) : v === 'nul' ? [0x00] : [0xe9];
          const at = rng.int(1 << 30);
          byteOps.push((b) => {
            // inside a string literal when there is one, else anywhere
            const quotes: number[] = [];
            for (let i = 0; i < b.length && quotes.length < 1000; i++) if (b[i] === 0x22) quotes.push(i + 1);
            const pos = quotes.length ? quotes[at % quotes.length]! : at % (b.length + 1);
            return Buffer.concat([b.subarray(0, pos), Buffer.from(bad), b.subarray(pos)]);
          });
        }
        break;
      }
      default: {
        contentType = rng.pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', '*/*', 'application/json; charset=latin1', '', 'application/grpc']);
        ops.push(`content-type ${JSON.stringify(contentType ?? null)}`);
      }
    }
  }
  let body: Buffer = Buffer.from(bodyText ?? stringify(value), 'utf8');
  for (const f of byteOps) body = f(body);
  if (rng.chance(0.1)) {
    const t = body.length;
    body = body.subarray(0, rng.int(t + 1));
    ops.push(`truncated to ${body.length} of ${t} B`);
  }
  const headers: [string, string][] = [];
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  headers.push(['Content-Length', String(body.length)]);
  if (rng.chance(0.05)) {
    headers.push(['Content-Encoding', rng.pick(['gzip', 'br', 'identity', 'x'])]);
    ops.push('content-encoding');
  }
  const bytes = request(s.method, s.path, baseHeaders(ctx, headers), body);
  const seed = ops.length === 1 && ops[0] === 'unmodified seed';
  const c = httpCase('json', 'answer', [bytes], [s.method], `${s.method} ${s.path} ${ops.join('; ')}`, seed ? { seed } : {});
  // keep the summary about the mutation, not the (long) request head
  c.summary = trunc(`http.json [answer] ${s.method} ${s.path} ${ops.join('; ')} (${sizeText(body.length)} body): ${printable(body, 60)}`, 200);
  return c;
}

// Protobuf mutation ----------------------------------------------------------------------------------------------

function lenFields(msg: Buffer): PbField[] {
  return (pb.parse(msg) ?? []).filter((f) => f.wire === 2);
}

function mutateProto(rng: Rng, msg: Buffer, m: GrpcMethodSurface, seeds: Buffer[]): { bytes: Buffer; op: string; kind: string } {
  const kind = rng.weighted<string>([
    [6, 'bitflip'],
    [3, 'byteset'],
    [4, 'truncate'],
    [2, 'extend'],
    [3, 'splice'],
    [4, 'dup-field'],
    [4, 'unknown-field'],
    [3, 'retype-field'],
    [2, 'bad-length'],
    [3, 'varint'],
    [5, 'deep-struct'],
    [4, 'huge-string'],
    [4, 'nested'],
    [2, 'random'],
  ]);
  return { ...mutateProtoOp(rng, kind, msg, m, seeds), kind };
}

function mutateProtoOp(rng: Rng, op: string, msg: Buffer, m: GrpcMethodSurface, seeds: Buffer[]): { bytes: Buffer; op: string } {
  switch (op) {
    case 'bitflip': {
      if (!msg.length) return { bytes: rng.bytes(rng.range(1, 16)), op: 'random (empty seed)' };
      const b = Buffer.from(msg);
      const n = rng.range(1, 8);
      for (let i = 0; i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { bytes: b, op: `bitflip x${n}` };
    }
    case 'byteset': {
      if (!msg.length) return { bytes: Buffer.from([rng.pick([0x00, 0xff, 0x7f, 0x80])]), op: 'one byte' };
      const b = Buffer.from(msg);
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) b[rng.int(b.length)] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x12]);
      return { bytes: b, op: `byteset x${n}` };
    }
    case 'truncate': {
      const at = rng.int(msg.length + 1);
      return { bytes: msg.subarray(0, at), op: `truncate to ${at}/${msg.length}` };
    }
    case 'extend':
      return { bytes: Buffer.concat([msg, rng.bytes(rng.range(1, 64))]), op: 'random tail' };
    case 'splice': {
      const other = rng.pick(seeds);
      const i = rng.int(msg.length + 1);
      const j = rng.int(other.length + 1);
      return { bytes: Buffer.concat([msg.subarray(0, i), other.subarray(j)]), op: `splice ${i}+${j}` };
    }
    case 'dup-field': {
      const fields = pb.parse(msg);
      if (!fields?.length) return { bytes: Buffer.concat([msg, msg]), op: 'doubled' };
      const f = rng.pick(fields);
      let n: number = rng.weighted([
        [6, 2],
        [2, 10],
        [1, 1000],
      ] as const);
      const copy = msg.subarray(f.start, f.end);
      n = Math.max(2, Math.min(n, Math.floor((2 * MAX_GENERATED) / Math.max(1, copy.length))));
      return { bytes: Buffer.concat([msg, ...Array.from({ length: n - 1 }, () => copy)]), op: `field ${f.field} x${n}` };
    }
    case 'unknown-field': {
      const parts: Buffer[] = [];
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) {
        const field = rng.pick([rng.range(16, 200), rng.range(1000, 19_999), 536_870_911, rng.range(19_000, 19_999)]);
        const wire = rng.pick([0, 1, 2, 5, 3, 4, 6, 7]);
        const payload = wire === 0 ? varint(rng.u32()) : wire === 1 ? rng.bytes(8) : wire === 5 ? rng.bytes(4) : wire === 2 ? Buffer.concat([varint(10), rng.bytes(10)]) : rng.bytes(rng.int(4));
        parts.push(Buffer.concat([pb.tag(field, wire), payload]));
      }
      return { bytes: Buffer.concat([msg, ...parts]), op: `${n} unknown field(s)` };
    }
    case 'retype-field': {
      const fields = pb.parse(msg);
      if (!fields?.length) return { bytes: Buffer.concat([pb.uint(1, 1), msg]), op: 'varint field 1' };
      const f = rng.pick(fields);
      const wire = rng.pick([0, 1, 2, 5].filter((w) => w !== f.wire));
      const payload = wire === 0 ? varint(rng.u32()) : wire === 1 ? rng.bytes(8) : wire === 5 ? rng.bytes(4) : Buffer.concat([varint(3), Buffer.from('abc')]);
      return { bytes: Buffer.concat([msg.subarray(0, f.start), pb.tag(f.field, wire), payload, msg.subarray(f.end)]), op: `field ${f.field} wire ${f.wire}->${wire}` };
    }
    case 'bad-length': {
      const field = rng.pick([...lenFields(msg).map((f) => f.field), 1, 2, 3]);
      const len = rng.pick([2 ** 31 - 1, 2 ** 32 + 5, 2n ** 63n, 2n ** 64n - 1n, 100_000]);
      return { bytes: Buffer.concat([msg, pb.tag(field, 2), varint(len), Buffer.from('abc')]), op: `field ${field} length ${String(len)}` };
    }
    case 'varint': {
      const fields = (pb.parse(msg) ?? []).filter((f) => f.wire === 0);
      const v = rng.pick([0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2n ** 63n, 2n ** 64n - 1n, -1]);
      if (!fields.length) {
        const field = rng.range(1, 12);
        return { bytes: Buffer.concat([msg, pb.uint(field, v)]), op: `varint field ${field} = ${String(v)}` };
      }
      const f = rng.pick(fields);
      return { bytes: Buffer.concat([msg.subarray(0, f.start), pb.uint(f.field, v), msg.subarray(f.end)]), op: `varint field ${f.field} = ${String(v)}` };
    }
    case 'deep-struct': {
      const depth = rng.weighted([
        [6, 10_000],
        [2, 1000],
        [0.5, 100_000],
      ] as const);
      const path = m.structFields?.length ? rng.pick(m.structFields) : [rng.pick([...lenFields(msg).map((f) => f.field), rng.range(1, 12)])];
      return { bytes: pb.setField(msg, path, pb.deepStruct(depth, rng)), op: `Struct nested ${depth} deep at field ${path.join('.')}` };
    }
    case 'huge-string': {
      const n = rng.weighted([
        [8, 64 * KB],
        [6, 1024 * KB],
        [2, 4 * 1024 * KB],
        [0.5, 17 * 1024 * KB],
      ] as const);
      const path = m.stringFields?.length && rng.chance(0.8) ? rng.pick(m.stringFields) : [rng.pick([...lenFields(msg).map((f) => f.field), rng.range(1, 12)])];
      const fill = rng.pick(['A', 'é', '\u0000']);
      const payload = rng.chance(0.15) ? Buffer.concat([Buffer.alloc(n, 0x41), Buffer.from([0xff, 0xfe])]) : Buffer.alloc(n, fill, 'utf8');
      return { bytes: pb.setField(msg, path, payload), op: `${sizeText(payload.length)} string at field ${path.join('.')}` };
    }
    case 'nested': {
      const fields = lenFields(msg);
      if (!fields.length) return { bytes: rng.bytes(rng.range(0, 64)), op: 'random' };
      const f = rng.pick(fields);
      const inner = msg.subarray(f.valueStart, f.valueEnd);
      const sub = mutateProto(rng, inner, { path: m.path, seedRequests: [] }, [inner]);
      return { bytes: Buffer.concat([msg.subarray(0, f.start), pb.len(f.field, sub.bytes), msg.subarray(f.end)]), op: `in field ${f.field}: ${sub.op}` };
    }
    default: {
      const n = rng.pick([0, 1, 2, 16, 256, 4096]);
      return { bytes: rng.bytes(n), op: `random ${n} bytes` };
    }
  }
}

function genGrpc(rng: Rng, ctx: GenCtx): GrpcCase {
  const g = ctx.grpc!;
  const m = rng.pick(g.methods);
  const seeds = m.seedRequests.length ? m.seedRequests : [Buffer.alloc(0)];
  const allSeeds = g.methods.flatMap((x) => x.seedRequests);
  const style: GrpcCall['style'] = m.bidiStreaming ? 'bidi' : m.serverStreaming ? 'server-stream' : 'unary';
  let path = m.path;
  const ops: string[] = [];
  if (rng.chance(0.03)) {
    path = rng.pick([`${m.path}x`, `${m.path.slice(0, m.path.lastIndexOf('/') + 1)}`, '/', `/${m.path.slice(1).toLowerCase()}`, '/x.Y/Z', `${m.path}/`]);
    ops.push(`path ${path}`);
  }
  const count = style === 'bidi' ? rng.range(1, 3) : 1;
  const messages: Buffer[] = [];
  let seed = false;
  let kind = 'valid';
  for (let i = 0; i < count; i++) {
    let msg = rng.pick(seeds);
    if (rng.chance(0.06)) {
      if (count === 1 && path === m.path) seed = true;
    } else {
      const n = rng.weighted([
        [8, 1],
        [2, 2],
        [1, 3],
      ] as const);
      for (let k = 0; k < n; k++) {
        const r = mutateProto(rng, msg, m, allSeeds.length ? allSeeds : seeds);
        msg = r.bytes;
        ops.push(r.op);
        if (k === 0 && i === 0) kind = r.kind;
      }
    }
    messages.push(msg);
  }
  if (seed) ops.push('unmodified seed');
  const metadata: [string, string | Buffer][] = Object.entries(g.metadata ?? {});
  if (rng.chance(0.05)) {
    const md = rng.pick<[string, string | Buffer]>([
      ['authorization', 'Bearer x'],
      ['authorization', 'x'.repeat(8 * KB)],
      ['x-request-id', 'y'.repeat(4 * KB)],
      ['grpc-accept-encoding', 'zz'],
      ['x-weird-bin', rng.bytes(64)],
    ]);
    metadata.push(md);
    ops.push(`metadata ${md[0]} (${md[1].length} chars)`);
  }
  const size = messages.reduce((s, b) => s + b.length, 0);
  const summary = trunc(`grpc ${path} ${style} [${ops.join('; ') || 'valid'}] (${sizeText(size)}): ${messages[0]!.subarray(0, 48).toString('hex')}`, 200);
  return { transport: 'grpc', kind: `grpc.${m.path.slice(m.path.lastIndexOf('/') + 1)}.${kind}`, summary, call: { path, style, messages, ...(metadata.length ? { metadata } : {}) }, ...(seed ? { seed } : {}) };
}

/** Case `index` of a run with `seed`: a pure function of (seed, index, surface). */
function generate(seed: number, index: number, ctx: GenCtx): Case {
  const rng = new Rng(seed, index);
  const gens: [number, () => Case][] = [];
  if (ctx.http) {
    gens.push([12, () => genHttpPath(rng, ctx)], [18, () => genHttpRaw(rng, ctx)], [20, () => genHttpJson(rng, ctx)]);
  }
  if (ctx.grpc?.methods.length) gens.push([50, () => genGrpc(rng, ctx)]);
  if (!gens.length) throw new Error('fuzzServer: describe at least one of http or grpc');
  return rng.weighted(gens)();
}

// ---------------------------------------------------------------------------------------------------------------
// Checking one outcome.

interface Verdict {
  statusKey: string;
  failures: { kind: string; observed: string }[];
  /** The connection failed in a way a dead server would explain: confirm with isAlive() before blaming the case. */
  connectionLevel: boolean;
  /** Worth an immediate isAlive() check (refused / reset / UNAVAILABLE / hang). */
  anomaly: boolean;
}

const GRPC_BAD = new Set([grpcStatus.UNKNOWN, grpcStatus.INTERNAL, grpcStatus.DATA_LOSS]);
/** Client-side details of a connection torn down under the call (as opposed to an UNAVAILABLE the server chose). */
const CONNECTION_LOST = /Connection dropped|ECONNRESET|GOAWAY|RST_STREAM|Stream refused|socket hang up|Connection closed|Premature close/i;

function checkHttp(c: HttpCase, o: HttpOutcome, s: Required<Pick<FuzzOptions, 'deadlineMs' | 'marginMs' | 'maxErrorBytes'>>, surface: HttpSurface): Verdict {
  const allowed5xx = surface.allowed5xx ?? [501, 503, 504, 505];
  const bodyless = surface.bodylessErrorStatuses ?? [400, 408, 413, 414, 417, 431, 505];
  const failures: Verdict['failures'] = [];
  const limit = s.deadlineMs + s.marginMs;
  // Bytes thrown at the gRPC (HTTP/2) port: it answers in HTTP/2 frames or closes; only survival is checked.
  if (c.port === 'grpc') return { statusKey: `grpc-port ${o.end}`, failures, connectionLevel: false, anomaly: o.end === 'refused' };
  o.responses.forEach((r, i) => {
    const method = c.exchange.methods[i] ?? c.exchange.methods[c.exchange.methods.length - 1] ?? 'GET';
    const where = c.exchange.responses > 1 ? ` (answer ${i + 1} of ${c.exchange.responses})` : '';
    if (r.status >= 500 && !allowed5xx.includes(r.status)) failures.push({ kind: 'http-5xx', observed: `${r.statusLine}${where}: ${printable(r.body, 300)}` });
    if (r.atMs > limit) failures.push({ kind: 'http-timeout', observed: `answer after ${r.atMs} ms > ${limit} ms${where}` });
    if (r.status >= 400 && method !== 'HEAD') {
      if (r.body.length > s.maxErrorBytes) failures.push({ kind: 'http-error-too-large', observed: `${r.statusLine}${where} with a ${sizeText(r.body.length)} body: ${printable(r.body, 150)}` });
      else if (r.body.length === 0) {
        if (!bodyless.includes(r.status)) failures.push({ kind: 'http-error-body', observed: `${r.statusLine}${where} with an empty body` });
      } else {
        let ok = false;
        try {
          const j = JSON.parse(r.body.toString('utf8')) as unknown;
          ok = j !== null && typeof j === 'object' && typeof (j as { error?: unknown }).error === 'string';
        } catch {
          ok = false;
        }
        if (!ok) failures.push({ kind: 'http-error-body', observed: `${r.statusLine}${where}: body is not {"error": string}: ${printable(r.body, 150)}` });
      }
    }
  });
  if (c.seed && (surface.seedsMustSucceed ?? true) && o.responses[0] && !(o.responses[0].status < 300 || [429, 503, 504].includes(o.responses[0].status))) {
    failures.push({ kind: 'http-seed-rejected', observed: `valid seed answered ${o.responses[0].statusLine}: ${printable(o.responses[0].body, 200)}` });
  }
  if (o.garbage !== undefined) failures.push({ kind: 'http-garbage-answer', observed: `not an HTTP answer: ${printable(o.garbage, 100)}` });
  const statusKey = o.responses.length ? `http ${o.responses[0]!.status}` : `http ${o.end}`;
  let connectionLevel = false;
  let anomaly = o.end === 'refused';
  const need = c.expect === 'answer' ? c.exchange.responses : 1;
  const lastClose = o.responses.length > 0 && /\bclose\b/i.test(o.responses[o.responses.length - 1]!.headers.connection ?? '');
  if (o.end === 'refused') {
    failures.push({ kind: 'http-no-answer', observed: 'connection refused' });
    connectionLevel = true;
  } else if (c.expect === 'answer' && o.responses.length < need && !lastClose && o.garbage === undefined) {
    const got = o.responses.length ? ` after ${o.responses.length} of ${need} answers` : '';
    if (o.end === 'timeout') failures.push({ kind: 'http-timeout', observed: `no answer within ${limit} ms${got}` });
    else failures.push({ kind: 'http-no-answer', observed: `connection ${o.end}${o.error ? ` (${o.error})` : ''} without a status line${got}, after ${o.elapsedMs} ms` });
    connectionLevel = true;
    anomaly = true;
  } else if (c.expect === 'answer-or-close' && o.responses.length === 0 && o.end === 'timeout' && o.garbage === undefined) {
    failures.push({ kind: 'http-hang', observed: `neither an answer nor a close within ${limit} ms` });
    connectionLevel = true;
    anomaly = true;
  } else if (o.end === 'reset' && o.responses.length === 0) anomaly = true;
  return { statusKey, failures, connectionLevel, anomaly };
}

function checkGrpc(c: GrpcCase, o: GrpcOutcome, s: Required<Pick<FuzzOptions, 'deadlineMs' | 'marginMs' | 'maxErrorBytes'>>, m: GrpcMethodSurface | undefined): Verdict {
  const failures: Verdict['failures'] = [];
  const name = o.hung ? 'HUNG' : (grpcStatus[o.code] ?? String(o.code));
  if (o.hung) failures.push({ kind: 'grpc-timeout', observed: `call still open ${o.elapsedMs} ms after it started (deadline ${s.deadlineMs} ms + ${s.marginMs} ms)` });
  else {
    if (GRPC_BAD.has(o.code)) failures.push({ kind: 'grpc-status', observed: `${name}: ${printable(o.details, 300)}` });
    if (Buffer.byteLength(o.details) > s.maxErrorBytes) failures.push({ kind: 'grpc-details-too-large', observed: `${name} with ${sizeText(Buffer.byteLength(o.details))} of details: ${printable(o.details, 150)}` });
    if (o.elapsedMs > s.deadlineMs + s.marginMs) failures.push({ kind: 'grpc-timeout', observed: `${name} after ${o.elapsedMs} ms > ${s.deadlineMs + s.marginMs} ms` });
    const okCodes: number[] = [grpcStatus.OK, grpcStatus.RESOURCE_EXHAUSTED, grpcStatus.DEADLINE_EXCEEDED, grpcStatus.UNAVAILABLE];
    if (c.seed && (m?.seedsMustSucceed ?? true) && !okCodes.includes(o.code)) failures.push({ kind: 'grpc-seed-rejected', observed: `valid seed answered ${name}: ${printable(o.details, 200)}` });
    if (m?.cheap && o.code === grpcStatus.DEADLINE_EXCEEDED && c.call.path === m.path) failures.push({ kind: 'grpc-no-answer', observed: `no status from a cheap method within its ${s.deadlineMs} ms deadline: ${printable(o.details, 120)}` });
    if (o.code === grpcStatus.UNAVAILABLE && CONNECTION_LOST.test(o.details)) failures.push({ kind: 'grpc-connection-dropped', observed: `the server dropped the connection instead of answering: ${printable(o.details, 200)}` });
  }
  const lost = CONNECTION_LOST.test(o.details) || /ECONNREFUSED|No connection established/i.test(o.details);
  const anomaly = o.hung || o.code === grpcStatus.UNAVAILABLE || (GRPC_BAD.has(o.code) && lost);
  return { statusKey: `grpc ${name}`, failures, connectionLevel: o.hung || lost, anomaly };
}

// ---------------------------------------------------------------------------------------------------------------
// The runner.

interface CaseRecord {
  index: number;
  start: number;
  end?: number;
  /** The connection failed (reset, closed without answer, UNAVAILABLE ...). */
  anomaly?: boolean;
  /** The connection was refused: the server was already gone when this case started. */
  refused?: boolean;
  /** The case's own connection ended without an answer (reset / closed / dropped): a dying server's victim, or its killer. */
  broke?: boolean;
}

interface Stall {
  start: number;
  end: number;
  /** Case indices that were running when the stall began, the likeliest culprit first. */
  suspects: number[];
}

/** Failure kinds that a stalled server inflicts on every case running at the time. */
const TIMEOUT_KINDS = new Set(['http-timeout', 'http-hang', 'grpc-no-answer', 'grpc-timeout']);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What makes two failures "the same": kind, target (gRPC method or HTTP case kind) and the message's shape. */
export function failureSignature(f: FuzzFailure): string {
  const target = f.input.startsWith('grpc ') ? f.input.split(' ')[1] : f.input.split(' ')[0];
  const shape = f.observed
    .replace(/\[.*$/, '')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\d+(\.\d+)?/g, 'N')
    .slice(0, 60);
  return `${f.kind} ${target}: ${shape}`;
}

/** Runs the fuzz campaign described by `opts` and returns its report (never throws for server misbehaviour). */
export async function fuzzServer(opts: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const host = opts.host ?? '127.0.0.1';
  const marginMs = opts.marginMs ?? 2000;
  const concurrency = Math.max(1, opts.concurrency ?? 6);
  const maxFailures = opts.maxFailures ?? 200;
  const graceMs = opts.deathGraceMs ?? 400;
  const pollMs = opts.alivePollMs ?? 200;
  const stallMs = opts.stallMs ?? marginMs;
  const probeTimeoutMs = opts.probe?.timeoutMs ?? 1000;
  const log = opts.log ?? (() => undefined);
  const limits = { deadlineMs: opts.deadlineMs, marginMs, maxErrorBytes: opts.maxErrorBytes ?? 4096 };
  const ports = { http: opts.http?.port ?? -1, grpc: opts.grpc?.port ?? -1 };
  const ctxFor = (): GenCtx => ({ authority: `${host}:${ports.http}`, ...(opts.http ? { http: opts.http } : {}), ...(opts.grpc ? { grpc: opts.grpc } : {}) });
  const summaryOf = (i: number) => generate(opts.seed, i, ctxFor()).summary;

  const report: FuzzReport = { seed: opts.seed, cases: 0, elapsedMs: 0, byStatus: {}, byKind: {}, failures: [], failuresDropped: 0, failureCounts: {}, deaths: 0, stalls: 0, stallVictims: 0, stoppedBecause: 'maxCases', slowest: [] };
  const noteSlow = (seedIndex: number, ms: number, input: string, outcome: string) => {
    if (report.slowest.length >= 10 && ms <= report.slowest[report.slowest.length - 1]!.ms) return;
    report.slowest.push({ seedIndex, ms, input, outcome: trunc(outcome, 160) });
    report.slowest.sort((a, b) => b.ms - a.ms);
    report.slowest.length = Math.min(report.slowest.length, 10);
  };
  const perSignature = opts.maxFailuresPerSignature ?? 5;
  const addFailure = (f: FuzzFailure) => {
    const sig = failureSignature(f);
    const n = (report.failureCounts[sig] = (report.failureCounts[sig] ?? 0) + 1);
    if (n <= perSignature && report.failures.length < maxFailures) report.failures.push(f);
    else report.failuresDropped++;
  };
  const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  const alive = async (): Promise<boolean> => {
    try {
      return await opts.isAlive();
    } catch {
      return false;
    }
  };

  const execute = async (index: number): Promise<{ c: Case; v: Verdict; outcome: string; refused: boolean; broke: boolean }> => {
    const c = generate(opts.seed, index, ctxFor());
    if (c.transport === 'http') {
      const port = c.port === 'grpc' ? ports.grpc : ports.http;
      const anyWait = opts.http!.anyWaitMs ?? 1000;
      const limitMs = c.expect === 'any' ? Math.min(opts.deadlineMs + marginMs, 3 * anyWait) : opts.deadlineMs + marginMs;
      const o = await httpExchange(host, port, { ...c.exchange, limitMs, ...(c.expect === 'any' ? { firstByteMs: anyWait } : {}) });
      const v = checkHttp(c, o, limits, opts.http!);
      const outcome = o.responses.length ? o.responses.map((r) => r.statusLine).join(', ') : `${o.end}${o.error ? ` ${o.error}` : ''}`;
      return { c, v, outcome, refused: o.end === 'refused', broke: o.responses.length === 0 && (o.end === 'closed' || o.end === 'reset') };
    }
    const client = rawGrpcClient(host, ports.grpc);
    let o: GrpcOutcome;
    try {
      o = await grpcCall(client, c.call, opts.deadlineMs, marginMs);
    } finally {
      client.close();
    }
    const m = opts.grpc!.methods.find((x) => x.path === c.call.path);
    const v = checkGrpc(c, o, limits, m);
    const refused = o.code === grpcStatus.UNAVAILABLE && /ECONNREFUSED|No connection established/i.test(o.details);
    return { c, v, outcome: `${v.statusKey}${o.details ? `: ${trunc(o.details, 120)}` : ''}`, refused, broke: !refused && (o.code === grpcStatus.UNAVAILABLE || CONNECTION_LOST.test(o.details)) };
  };

  /** One responsiveness probe: any answer at all counts (the point is that the server's event loop turns). */
  const probeOnce = async (): Promise<boolean> => {
    const p = opts.probe!;
    if (p.http !== undefined) {
      const o = await httpExchange(host, ports.http, { parts: [request('GET', p.http, [['Host', `${host}:${ports.http}`], ...Object.entries(opts.http?.headers ?? {})])], methods: ['GET'], responses: 1, limitMs: probeTimeoutMs });
      return o.responses.length > 0;
    }
    const client = rawGrpcClient(host, ports.grpc);
    try {
      const o = await grpcCall(client, { path: p.grpc!.path, style: 'unary', messages: [p.grpc!.request ?? Buffer.alloc(0)] }, probeTimeoutMs, 0);
      return !o.hung && o.code !== grpcStatus.DEADLINE_EXCEEDED && o.code !== grpcStatus.UNAVAILABLE;
    } finally {
      client.close();
    }
  };

  // Death and stall bookkeeping: every case's time span, the last time the server was seen alive, stalls.
  const records = new Map<number, CaseRecord>();
  const stalls: Stall[] = [];
  const deferred: { f: FuzzFailure; start: number; end: number }[] = [];
  let lastAliveAt = Date.now();
  let deathSeenAt = 0;
  let dead = false;
  let stop = false;
  let deathText = '';
  let stallStart: number | undefined;
  const markDead = () => {
    if (dead) return;
    dead = true;
    stop = true;
    deathSeenAt = Date.now();
    report.deaths++;
    deathText = opts.describeDeath?.() ?? '';
    log(`server found dead after ${((deathSeenAt - t0) / 1000).toFixed(1)} s`);
  };
  const closeStall = (end: number) => {
    if (stallStart === undefined) return;
    const start = stallStart;
    stallStart = undefined;
    if (end - start < stallMs) return;
    // The culprit was running when the stall began and typically finishes when it ends.
    const dist = (r: CaseRecord) => (r.end === undefined ? 0 : Math.abs(r.end - end));
    const suspects = [...records.values()]
      .filter((r) => r.start <= start + probeTimeoutMs && (r.end ?? Infinity) >= start)
      .sort((a, b) => dist(a) - dist(b))
      .map((r) => r.index);
    stalls.push({ start, end, suspects });
    report.stalls++;
    log(`server unresponsive for ${end - start} ms (at ${((start - t0) / 1000).toFixed(1)} s); suspects ${suspects.slice(0, 8).join(', ')}`);
  };
  const watchdog = async () => {
    while (!stop) {
      const at = Date.now();
      if (await alive()) lastAliveAt = at;
      else markDead();
      if (!stop) await sleep(pollMs);
    }
  };
  const prober = async () => {
    while (!stop) {
      const at = Date.now();
      const ok = await probeOnce();
      if (ok) closeStall(at);
      else if (!dead && (await alive())) stallStart ??= at;
      if (!stop) await sleep(250);
    }
    closeStall(Date.now());
  };

  const budgetEnd = t0 + opts.timeBudgetMs;
  const queue = opts.cases ? [...opts.cases] : undefined;
  let nextIndex = 0;
  const take = (): number | undefined => {
    if (stop) return undefined;
    if (queue) return queue.shift();
    if (nextIndex >= opts.maxCases) {
      report.stoppedBecause = 'maxCases';
      return undefined;
    }
    if (Date.now() >= budgetEnd) {
      report.stoppedBecause = 'budget';
      return undefined;
    }
    return nextIndex++;
  };

  const runOne = async (index: number) => {
    const rec: CaseRecord = { index, start: Date.now() };
    records.set(index, rec);
    let res: Awaited<ReturnType<typeof execute>>;
    try {
      res = await execute(index);
    } catch (err) {
      rec.end = Date.now();
      report.cases++;
      addFailure({ kind: 'harness-error', seedIndex: index, input: '(generation or send failed)', observed: trunc(String((err as Error)?.stack ?? err), 400) });
      return;
    }
    rec.end = Date.now();
    const { c, v, outcome } = res;
    report.cases++;
    noteSlow(index, rec.end - rec.start, c.summary, outcome);
    bump(report.byStatus, v.statusKey);
    bump(report.byKind, c.kind);
    rec.anomaly = v.anomaly;
    rec.refused = res.refused;
    rec.broke = res.broke;
    if (v.anomaly || v.connectionLevel) {
      // A dying server resets every connection: blame nobody until it is known to be alive.
      await sleep(graceMs);
      if (!(await alive())) {
        markDead();
        if (v.connectionLevel) return;
      }
    }
    for (const f of v.failures) {
      const tail = outcome && !f.observed.includes(printable(outcome, 20)) ? ` [${printable(outcome, 120)}]` : '';
      const failure = { kind: f.kind, seedIndex: index, input: c.summary, observed: trunc(`${f.observed}${tail}`, 500) };
      // A timeout may be a stalled server's doing: decided at the end, once the stalls are known.
      if (opts.probe && TIMEOUT_KINDS.has(f.kind)) deferred.push({ f: failure, start: rec.start, end: rec.end });
      else addFailure(failure);
    }
  };

  const runBatch = async () => {
    stop = false;
    const dogs = [watchdog(), ...(opts.probe ? [prober()] : [])];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = take(); i !== undefined; i = take()) await runOne(i);
      }),
    );
    if (!dead && !(await alive())) markDead();
    stop = true;
    await Promise.all(dogs);
  };

  const restartServer = async (): Promise<void> => {
    log('restarting the server');
    const p = await opts.restart!();
    if (p?.httpPort !== undefined) ports.http = p.httpPort;
    if (p?.grpcPort !== undefined) ports.grpc = p.grpcPort;
  };

  for (;;) {
    await runBatch();
    if (!dead) break;
    // The server died: suspects are the cases that were running between the last sign of life and the death;
    // those whose own connection broke come first, those refused (started after the death) last.
    const rank = (r: CaseRecord) => (r.refused ? 3 : r.broke ? 0 : r.anomaly || r.end === undefined || r.end >= deathSeenAt - graceMs ? 1 : 2);
    const suspects = [...records.values()]
      .filter((r) => r.start <= deathSeenAt && (r.end ?? Infinity) >= lastAliveAt - 1000)
      .sort((a, b) => rank(a) - rank(b) || a.start - b.start)
      .map((r) => r.index)
      .slice(0, 24);
    log(`suspects: ${suspects.join(', ')}`);
    let killer: { index: number; outcome: string; text: string } | undefined;
    if (opts.restart) {
      for (const s of suspects) {
        if (!(await alive())) await restartServer();
        let outcome: string;
        try {
          outcome = (await execute(s)).outcome;
        } catch (err) {
          outcome = `harness error: ${(err as Error).message}`;
        }
        await sleep(graceMs);
        if (!(await alive())) {
          killer = { index: s, outcome, text: opts.describeDeath?.() ?? '' };
          log(`case ${s} kills the server on its own`);
          break;
        }
      }
    }
    if (killer) {
      addFailure({ kind: 'crash', seedIndex: killer.index, input: summaryOf(killer.index), observed: trunc(`server process exited (reproduced with this case alone; the client saw: ${trunc(killer.outcome, 100)}). ${killer.text || deathText}`, 900) });
    } else {
      const first = suspects[0] ?? -1;
      addFailure({
        kind: 'crash',
        seedIndex: first,
        input: first >= 0 ? summaryOf(first) : '(no case in flight)',
        observed: trunc(`server process exited while cases [${suspects.join(', ')}] were in flight${opts.restart ? '; none of them kills it alone' : ' (pass restart to pin the case)'}. ${deathText}`, 900),
      });
    }
    if (!(opts.restart && opts.continueAfterCrash) || (queue ? queue.length === 0 : Date.now() >= budgetEnd)) {
      report.stoppedBecause = 'crash';
      if (opts.restart && !(await alive())) await restartServer(); // leave a live server for the caller's final checks
      break;
    }
    if (!(await alive())) await restartServer();
    dead = false;
    lastAliveAt = Date.now();
  }

  // Timeouts of cases that overlapped a stall are the stall's victims; the others are the cases' own.
  for (const d of deferred) {
    if (stalls.some((s) => d.start <= s.end && d.end >= s.start)) report.stallVictims++;
    else addFailure(d.f);
  }
  // Find the case behind each stall (a few at most): replay the suspects alone while probing.
  for (const st of stalls.slice(0, opts.maxStallReplays ?? 3)) {
    let culprit: { index: number; stalledMs: number; outcome: string } | undefined;
    for (const s of st.suspects.slice(0, 6)) {
      if (!(await alive())) {
        if (!opts.restart) break;
        await restartServer();
      }
      const r = await replayProbing(s);
      if (r.stalledMs >= stallMs) {
        culprit = { index: s, ...r };
        log(`case ${s} stalls the server on its own (${r.stalledMs} ms)`);
        break;
      }
    }
    const what = `server unresponsive for ${st.end - st.start} ms during the run (the probe got no answer within ${probeTimeoutMs} ms)`;
    if (culprit) addFailure({ kind: 'stall', seedIndex: culprit.index, input: summaryOf(culprit.index), observed: trunc(`${what}; this case alone stalls it for ${culprit.stalledMs} ms (the client saw: ${printable(culprit.outcome, 100)})`, 500) });
    else addFailure({ kind: 'stall', seedIndex: st.suspects[0] ?? -1, input: st.suspects.length ? summaryOf(st.suspects[0]!) : '(no case in flight)', observed: trunc(`${what} while cases [${st.suspects.slice(0, 12).join(', ')}] ran; none of the first 6 stalls it alone`, 500) });
  }
  report.elapsedMs = Date.now() - t0;
  if (queue && report.stoppedBecause !== 'crash') report.stoppedBecause = 'replay';
  return report;

  /** Runs case `index` alone while probing; returns the longest unresponsive stretch seen. */
  async function replayProbing(index: number): Promise<{ stalledMs: number; outcome: string }> {
    let running = true;
    let longest = 0;
    const probing = (async () => {
      let since: number | undefined;
      const until = Date.now() + opts.deadlineMs + 2 * marginMs;
      while ((running || since !== undefined) && Date.now() < until) {
        const at = Date.now();
        if (await probeOnce()) since = undefined;
        else since ??= at;
        if (since !== undefined) longest = Math.max(longest, Date.now() - since);
        await sleep(250);
      }
    })();
    let outcome: string;
    try {
      outcome = (await execute(index)).outcome;
    } catch (err) {
      outcome = `harness error: ${(err as Error).message}`;
    }
    running = false;
    await probing;
    return { stalledMs: longest, outcome };
  }
}

/** Readable lines for a report: counts, status histogram, failures grouped by kind. */
export function formatReport(r: FuzzReport): string[] {
  const lines = [`seed ${r.seed}: ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s (stopped: ${r.stoppedBecause}), ${r.deaths} server death(s), ${r.stalls} stall(s) (${r.stallVictims} timeouts during stalls not blamed on their case), ${r.failures.length + r.failuresDropped} failure(s)`];
  lines.push(`statuses: ${Object.entries(r.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}=${n}`)
    .join(', ')}`);
  const groups = new Map<string, FuzzFailure[]>();
  for (const f of r.failures) {
    const key = failureSignature(f);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const [key, fs] of groups) {
    lines.push(`${r.failureCounts[key] ?? fs.length} x ${key}`);
    for (const f of fs.slice(0, 3)) lines.push(`    case ${f.seedIndex}: ${f.input}\n      -> ${f.observed}`);
  }
  if (r.failuresDropped) lines.push(`(${r.failuresDropped} more failures of the same signatures are counted, not listed)`);
  if (r.slowest.length) {
    lines.push('slowest cases:');
    for (const x of r.slowest.slice(0, 5)) lines.push(`    ${x.ms} ms case ${x.seedIndex}: ${x.input} -> ${x.outcome}`);
  }
  return lines;
}

/** The whole case `index` of a run with these options (bytes included): to replay or debug one case by hand. */
export function caseAt(opts: Pick<FuzzOptions, 'seed' | 'http' | 'grpc' | 'host'>, index: number): Case {
  return generate(opts.seed, index, { authority: `${opts.host ?? '127.0.0.1'}:${opts.http?.port ?? -1}`, ...(opts.http ? { http: opts.http } : {}), ...(opts.grpc ? { grpc: opts.grpc } : {}) });
}

/** What case `index` of a run with these options sends (kind, summary, size): for reproduction notes. */
export function describeCase(opts: Pick<FuzzOptions, 'seed' | 'http' | 'grpc' | 'host'>, index: number): { kind: string; summary: string; bytes: number } {
  const c = generate(opts.seed, index, { authority: `${opts.host ?? '127.0.0.1'}:${opts.http?.port ?? -1}`, ...(opts.http ? { http: opts.http } : {}), ...(opts.grpc ? { grpc: opts.grpc } : {}) });
  const bytes = c.transport === 'http' ? c.exchange.parts.reduce((s, b) => s + b.length, 0) : c.call.messages.reduce((s, b) => s + b.length, 0);
  return { kind: c.kind, summary: c.summary, bytes };
}

/** `p`, or `fallback` after `ms` (the timer is cleared either way). */
export async function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server running as a child process (tools/test-server-process.ts). */
export interface FuzzedProcess {
  httpPort: number;
  grpcPort: number;
  alive(): boolean;
  deathText(): string;
  kill(): Promise<void>;
}

export interface ProcessFuzzOptions<P extends FuzzedProcess> extends Pick<FuzzOptions, 'seed' | 'timeBudgetMs' | 'deadlineMs' | 'marginMs' | 'continueAfterCrash' | 'cases' | 'log'> {
  /** The process fuzzed first. */
  first: P;
  /** Starts a fresh process after a crash (the run replays suspects on it or goes on). */
  start: () => Promise<P>;
  /** Every process started after `first` (for the caller's teardown). */
  started?: (p: P) => void;
  http: Omit<HttpSurface, 'port'>;
  grpc: GrpcMethodSurface[];
}

/**
 * {@link fuzzServer} on a server process, the way every Genome server's fuzz test runs it: up to 1,000,000 cases, 6
 * at once, GET /v2/health/live as the liveness probe (it bypasses any call queue, so only a blocked server misses
 * it), a crashed process replaced by a fresh one. Resolves with the report and the process alive at the end.
 */
export async function fuzzServerProcess<P extends FuzzedProcess>(o: ProcessFuzzOptions<P>): Promise<{ report: FuzzReport; last: P }> {
  let proc = o.first;
  const report = await fuzzServer({
    seed: o.seed,
    timeBudgetMs: o.timeBudgetMs,
    maxCases: 1_000_000,
    deadlineMs: o.deadlineMs,
    ...(o.marginMs !== undefined ? { marginMs: o.marginMs } : {}),
    concurrency: 6,
    http: { port: o.first.httpPort, ...o.http },
    grpc: { port: o.first.grpcPort, methods: o.grpc },
    isAlive: () => proc.alive(),
    describeDeath: () => proc.deathText(),
    restart: async () => {
      await proc.kill();
      proc = await o.start();
      o.started?.(proc);
      return { httpPort: proc.httpPort, grpcPort: proc.grpcPort };
    },
    ...(o.continueAfterCrash !== undefined ? { continueAfterCrash: o.continueAfterCrash } : {}),
    probe: { http: '/v2/health/live', timeoutMs: 1000 },
    ...(o.cases ? { cases: o.cases } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  return { report, last: proc };
}
