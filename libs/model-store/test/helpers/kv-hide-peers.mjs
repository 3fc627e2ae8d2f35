// Loaded with --import: makes `@keyv/postgres` and `@keyv/redis` unresolvable, as in an install without the optional peers.
import { register } from 'node:module';

const hook = `
const hidden = ['@keyv/postgres', '@keyv/redis'];
export async function resolve(specifier, context, next) {
  if (hidden.some((h) => specifier === h || specifier.startsWith(h + '/'))) {
    const err = new Error("Cannot find package '" + specifier + "' (hidden by kv-hide-peers.mjs)");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
