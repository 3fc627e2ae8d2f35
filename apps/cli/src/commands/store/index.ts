/**
 * `genome store`: a Genome model store used directly through @genome/model-store, with no server (as MLflow's CLI on a
 * local store): metadata in SQLite (default), PostgreSQL or Redis, blobs in a directory (default) or S3.
 */
import { Command } from 'commander';
import { addStoreOptions } from '../../store/session.js';
import { examples, type CommandContext } from '../command-context.js';
import { aliasCommand, gcCommand, restoreCommand, rmCommand } from './change.js';
import { downloadCommand, getCommand, lineageCommand, listCommand, searchCommand } from './read.js';
import { saveCommand } from './save.js';

const STORE_HELP = `
Where the store is (flags win over the environment):
  --store-dir <dir>        GENOME_STORE_DIR       default ./.genome-store; holds metadata.sqlite and blobs/ unless
                                                  the two flags below say otherwise
  --store-metadata <url>   GENOME_STORE_METADATA  sqlite:///abs/path.sqlite, sqlite://relative.sqlite,
                                                  postgres://user@host:5432/db[?table=t], redis://host:6379
  --store-blobs <spec>     GENOME_STORE_BLOBS     a directory, file:///abs/dir, or
                                                  s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true
                                                  (S3 credentials from the AWS chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, a role)
PostgreSQL needs npm install @keyv/postgres, Redis @keyv/redis, S3 @aws-sdk/client-s3 (the error says so).

References: name/3 (a version), name@production (an alias), name (the latest ready version).

Exit codes: 0 success; 1 the store refused (FAILED_PRECONDITION), a blob is corrupted (CORRUPT), a backend package is
missing (MISSING_DEPENDENCY); 2 usage error or invalid input (INVALID_ARGUMENT: a bad reference, name, tag, metric,
filter, page token or package); 3 a backend could not be reached (UNAVAILABLE); 4 no such model, version, alias, file
or run (NOT_FOUND). Errors are one line on stderr: "error: <CODE>: <message>".
${examples([
  'genome store save ./california-housing-rf --name housing --metric rmse=0.52 --alias staging',
  'genome store list',
  'genome store get housing@staging',
  "genome store search --filter \"metrics.rmse < 0.6\" --latest --json",
  'genome store alias set housing production housing@staging',
  'GENOME_STORE_METADATA=postgres://genome@db:5432/models GENOME_STORE_BLOBS=s3://models/genome genome store list',
])}`;

export function storeCommand(ctx: CommandContext): Command {
  const store = new Command('store').description(
    'a model store, used directly (no server): save, get, list, search, alias, rm, restore, gc, download, lineage',
  );
  addStoreOptions(store);
  for (const cmd of [
    saveCommand(ctx),
    getCommand(ctx),
    listCommand(ctx),
    searchCommand(ctx),
    aliasCommand(ctx),
    rmCommand(ctx),
    restoreCommand(ctx),
    gcCommand(ctx),
    downloadCommand(ctx),
    lineageCommand(ctx),
  ]) {
    store.addCommand(cmd);
  }
  return store.addHelpText('after', STORE_HELP);
}
