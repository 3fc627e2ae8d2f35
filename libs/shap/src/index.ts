/** The public API of @genome/shap in Node: everything of the browser entry, plus the worker_threads pool. */
export * from './browser.js';
export { TreeShapPool, createTreeShapPool, type TreeShapPoolOptions } from './workers/pool.js';
