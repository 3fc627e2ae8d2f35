// Optional peer dependencies (gRPC client, generated protos, tar) are imported at first use: a package that is not
// installed is a MISSING_DEPENDENCY error naming what to install; any other failure of the import surfaces as it is.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ModelFormatError } from '../src/index.js';
import { importOptional, isMissingModule } from '../src/optional-module.js';

t.test('a package that is not installed is MISSING_DEPENDENCY with the install command', async (t) => {
  const err = await importOptional('@genome/not-an-installed-package', 'Reading this needs', ['@genome/not-an-installed-package']).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ModelFormatError, 'a ModelFormatError');
  const e = err as ModelFormatError;
  t.equal(e.code, 'MISSING_DEPENDENCY');
  t.match(e.message, /^Reading this needs @genome\/not-an-installed-package, an optional peer dependency of @genome\/model-format that is not installed: npm install @genome\/not-an-installed-package$/);
  t.ok(isMissingModule(e.cause, '@genome/not-an-installed-package'), 'the cause is the module-not-found error');
});

t.test('an installed package loads', async (t) => {
  const fflate = await importOptional<typeof import('fflate')>('fflate', 'x needs', ['fflate']);
  t.equal(typeof fflate.unzipSync, 'function');
});

t.test('a module that is installed but fails to load is not reported as missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'optional-module-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'broken.mjs');
  writeFileSync(broken, "import 'some-package-nobody-installed';\n");
  const brokenErr = await importOptional(broken, 'x needs', ['x']).catch((e: unknown) => e);
  t.notOk(brokenErr instanceof ModelFormatError, 'a missing package of the module itself keeps its own error');
  t.equal((brokenErr as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  const throwing = join(dir, 'throwing.mjs');
  writeFileSync(throwing, "throw new RangeError('fails while loading');\n");
  const thrown = await importOptional(throwing, 'x needs', ['x']).catch((e: unknown) => e);
  t.ok(thrown instanceof RangeError, 'an error thrown while the module runs is rethrown');
});
