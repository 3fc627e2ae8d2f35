/**
 * Child process for the restart test: an engine on a SQLite run state (argv[2]) and a local executor (argv[3])
 * starts the pipeline argv[4] as run argv[5], prints "running <step>" when the step argv[6] has a launched attempt,
 * then keeps going until the test kills it with SIGKILL.
 */
import { Engine, KvRunState, LocalExecutor } from '@genome/sequencer';

const [, , stateUrl, logDir, pipeline, runId, waitFor] = process.argv as string[];
const state = await KvRunState.open(stateUrl!);
const engine = new Engine({
  executor: new LocalExecutor({ logDir: logDir!, killGraceMs: 200 }),
  state,
  onUpdate: (r) => {
    const s = r.steps.find((x) => x.stepName === waitFor);
    if (s?.attempts[0]?.handle) process.stdout.write(`running ${waitFor}\n`);
  },
});
await engine.start(JSON.parse(pipeline!), { runId: runId! });
setInterval(() => {}, 1000);
