/**
 * Shared connection handling for every subcommand that talks to a Genome server: the global flags (address, bearer
 * token, TLS/mTLS, deadline) with their environment variables, turned into grpc-js credentials, channel options,
 * call metadata and deadlines. Files are read here, before any network call, so a bad path is a usage error.
 */
import { readFileSync } from 'node:fs';
import {
  connectivityState,
  credentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
} from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { usageError } from './errors.js';
import { intAtLeast } from './options.js';

export const DEFAULT_ADDRESS = 'localhost:8081';
export const DEFAULT_DEADLINE_MS = 60_000;

/** The global flags as commander parses them (`command.optsWithGlobals()`). */
export interface ConnectionFlags {
  address?: string;
  token?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  deadlineMs?: number;
}

/** Adds the connection flags to the root command (commander recognises them before or after the subcommand). */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--address <host:port>', 'server address').env('GENOME_ADDRESS').default(DEFAULT_ADDRESS))
    .addOption(new Option('--token <token>', 'bearer token, sent as "authorization: Bearer <token>"').env('GENOME_TOKEN'))
    .addOption(new Option('--tls', 'use TLS, trusting the system root certificates'))
    .addOption(new Option('--tls-ca <file>', 'use TLS, trusting this CA certificate (PEM)'))
    .addOption(new Option('--tls-cert <file>', 'client certificate for mTLS (PEM; with --tls-key)'))
    .addOption(new Option('--tls-key <file>', 'client private key for mTLS (PEM; with --tls-cert)'))
    .addOption(new Option('--tls-server-name <name>', "expect the server's certificate to be issued to this name"))
    .addOption(
      new Option('--deadline-ms <ms>', 'deadline of each call in milliseconds').argParser(intAtLeast(1)).default(DEFAULT_DEADLINE_MS),
    );
}

export interface ConnectionSettings {
  address: string;
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  token: string | undefined;
  deadlineMs: number;
  tls: boolean;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usageError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Checks the flags and reads the TLS files; throws a usage error (exit 2) on anything wrong. */
export function resolveConnection(flags: ConnectionFlags): ConnectionSettings {
  const address = (flags.address ?? DEFAULT_ADDRESS).trim();
  if (!address) throw usageError('--address is empty: expected host:port');
  if (!address.includes(':')) throw usageError(`--address "${address}" has no port: expected host:port, e.g. localhost:8081`);
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw usageError('--tls-cert and --tls-key go together (the client certificate and its key)');
  const token = flags.token?.trim() || undefined;
  const tls = Boolean(flags.tls || flags.tlsCa || flags.tlsCert || flags.tlsServerName);
  const channelOptions: ChannelOptions = {
    // The server bounds what it sends (--max-message-bytes); the client takes whatever its server answers.
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  };
  let creds: ChannelCredentials;
  if (tls) {
    const ca = flags.tlsCa ? readPem(flags.tlsCa, '--tls-ca') : null;
    const key = flags.tlsKey ? readPem(flags.tlsKey, '--tls-key') : null;
    const cert = flags.tlsCert ? readPem(flags.tlsCert, '--tls-cert') : null;
    creds = credentials.createSsl(ca, key, cert);
    if (flags.tlsServerName) {
      channelOptions['grpc.ssl_target_name_override'] = flags.tlsServerName;
      channelOptions['grpc.default_authority'] = flags.tlsServerName;
    }
  } else {
    creds = credentials.createInsecure();
  }
  return { address, credentials: creds, channelOptions, token, deadlineMs: flags.deadlineMs ?? DEFAULT_DEADLINE_MS, tls };
}

type ClientConstructor<C extends Client> = new (address: string, credentials: ChannelCredentials, options?: ChannelOptions) => C;

/**
 * The clients of one CLI invocation. Records whether a transport to the server was ever established, which tells
 * "the server could not be reached" (exit 3) from "the server answered an error" (exit 1).
 */
export class Connection {
  private readonly clients: Client[] = [];
  private connected = false;

  constructor(readonly settings: ConnectionSettings) {}

  /** A client of a generated service (e.g. `explain.ExplainerClient`) on this connection's address and credentials. */
  client<C extends Client>(ctor: ClientConstructor<C>): C {
    const c = new ctor(this.settings.address, this.settings.credentials, this.settings.channelOptions);
    this.clients.push(c);
    this.watch(c);
    return c;
  }

  /** True once a channel reached READY (TCP, TLS and HTTP/2 set up with the server). */
  get reachedServer(): boolean {
    return this.connected;
  }

  metadata(): Metadata {
    const md = new Metadata();
    if (this.settings.token) md.set('authorization', `Bearer ${this.settings.token}`);
    return md;
  }

  callOptions(): Partial<CallOptions> {
    return { deadline: Date.now() + this.settings.deadlineMs };
  }

  close(): void {
    for (const c of this.clients.splice(0)) c.close();
  }

  private watch(c: Client): void {
    const channel = c.getChannel();
    const next = (state: connectivityState): void => {
      if (state === connectivityState.READY) {
        this.connected = true;
        return;
      }
      if (state === connectivityState.SHUTDOWN) return;
      // No timer with an infinite deadline; closing the client (SHUTDOWN) ends the watch.
      channel.watchConnectivityState(state, Infinity, () => next(channel.getConnectivityState(false)));
    };
    next(channel.getConnectivityState(false));
  }
}

/** Resolves the flags of `command` (and its parents), runs `fn` with a connection, and closes it. */
export async function withConnection<T>(command: Command, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = new Connection(resolveConnection(command.optsWithGlobals<ConnectionFlags>()));
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}
