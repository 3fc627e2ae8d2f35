// `genome store` with PostgreSQL metadata (the local server CI starts; GENOME_TEST_POSTGRES_URL overrides it): the
// --store-metadata flag and GENOME_STORE_METADATA reach the backend (a table of this test's own, dropped at the end),
// blobs stay in the store directory; a server that cannot be reached is exit 3. The first save runs the real
// executable as a child process, the other commands run in process (runCli with captured output).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { exits } from './helpers/assertions.js';
import { genome, genomeInProcess } from './helpers/genome.js';
import { blobFiles, makePackage, scratch, type VersionJson } from './helpers/store.js';
import { closedPort } from './helpers/ports.js';

const POSTGRES_URL = process.env.GENOME_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

async function pgClient(): Promise<PgClient> {
  const pg = (await import('pg' as string)) as { default: { Client: new (o: { connectionString: string }) => PgClient } };
  const c = new pg.default.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  return c;
}

t.test('a store with PostgreSQL metadata', async (t) => {
  const table = `cli_store_${randomBytes(4).toString('hex')}`;
  const url = `${POSTGRES_URL}?table=${table}`;
  const pg = await pgClient();
  t.teardown(async () => {
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });
  const dir = scratch(t);
  const storeDir = join(dir, 'store');
  const p1 = makePackage(dir, 'p1');
  const p2 = makePackage(dir, 'p2');

  const saved = await genome(['store', '--store-dir', storeDir, '--store-metadata', url, 'save', p1, '--name', 'pg-model', '--metric', 'auc=0.9', '--alias', 'production', '--json']);
  exits(t, saved, 0, 'save with --store-metadata');
  t.equal((JSON.parse(saved.stdout) as VersionJson).version, 1);
  const env = { GENOME_STORE_METADATA: url, GENOME_STORE_DIR: storeDir };
  exits(t, await genomeInProcess(['store', 'save', p2, '--name', 'pg-model', '--metric', 'auc=0.95', '--quiet'], { env }), 0, 'save with GENOME_STORE_METADATA');

  const rows = await pg.query(`SELECT count(*)::int AS n FROM public.${table}`);
  t.ok((rows.rows[0]!.n as number) >= 2, 'the log entries are rows of the test table');
  t.equal(blobFiles(join(storeDir, 'blobs')).length, 5, 'blobs in <store-dir>/blobs: 4 files, one genome.json more');

  const search = await genomeInProcess(['store', 'search', '--filter', 'metrics.auc > 0.92', '--json'], { env });
  exits(t, search, 0);
  t.same((JSON.parse(search.stdout) as { versions: VersionJson[] }).versions.map((v) => v.version), [2]);
  const got = await genomeInProcess(['store', 'get', 'pg-model@production', '--json'], { env });
  t.equal((JSON.parse(got.stdout) as VersionJson).version, 1);

  const sqlite = await genomeInProcess(['store', '--store-dir', storeDir, 'list']);
  exits(t, sqlite, 0);
  t.equal(sqlite.stdout, 'no models\n', 'without the flag the same directory has SQLite metadata, empty');

  const down = await genomeInProcess(['store', '--store-dir', storeDir, '--store-metadata', `postgres://postgres@127.0.0.1:${await closedPort()}/test`, 'list']);
  exits(t, down, 3, 'a PostgreSQL server that cannot be reached');
  t.match(down.stderr, /^error: UNAVAILABLE: .*ECONNREFUSED/);
});
