/** Every subcommand, in the order `genome --help` lists them. */
import type { CommandFactory } from './command-context.js';
import { explainCommand } from './explain.js';
import { healthCommand } from './health.js';
import { modelsCommand } from './models.js';
import { pipelineCommand } from './pipeline/index.js';
import { storeCommand } from './store/index.js';
import { visualizeCommand } from './visualize.js';

export const COMMANDS: readonly CommandFactory[] = [modelsCommand, explainCommand, visualizeCommand, healthCommand, storeCommand, pipelineCommand];
