/**
 * Child process for the restart tests: launches one step with a local executor on argv[2] (log folder), prints the
 * handle, then hangs until the test kills it with SIGKILL. argv[3] is the step's JavaScript.
 */
import { LocalExecutor } from '@genome/sequencer';
import { launchOf } from './local.js';

const ex = new LocalExecutor({ logDir: process.argv[2]!, killGraceMs: 200 });
const handle = await ex.launch(launchOf({ stepName: 'survivor', stepType: 't', command: [process.execPath, '-e', process.argv[3]!] }));
process.stdout.write(`${handle}\n`);
setInterval(() => {}, 1000);
