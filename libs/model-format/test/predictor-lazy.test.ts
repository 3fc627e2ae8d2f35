import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Importing the library must not load onnxruntime-node, TF.js, grpc-js, protobufjs, the generated protos or tar: a
// resolve hook makes them throw.
t.test('importing @genome/model-format loads no optional runtime', async (t) => {
  const hook = `data:text/javascript,${encodeURIComponent(`
    export async function resolve(spec, ctx, next) {
      if (/^(onnxruntime-node|@tensorflow\\/.*|@grpc\\/grpc-js|@genome\\/proto|protobufjs|tar)($|\\/)/.test(spec)) throw new Error('loaded eagerly: ' + spec);
      return next(spec, ctx);
    }`)}`;
  const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = `
    import { register } from 'node:module';
    register(${JSON.stringify(hook)});
    const m = await import(${JSON.stringify(index)});
    console.log(typeof m.onnxPredictor, typeof m.tfjsPredictor, typeof m.remotePredictor, typeof m.loadGenomePackage);`;
  const r = spawnSync(process.execPath, ['--import=tsx', '--conditions=@genome/source', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'function function function function');
});
