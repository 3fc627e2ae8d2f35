// Loaded with --import: makes `@aws-sdk/client-s3` unresolvable, as in an install without the optional peer.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier === '@aws-sdk/client-s3' || specifier.startsWith('@aws-sdk/client-s3/')) {
    const err = new Error("Cannot find package '@aws-sdk/client-s3' (hidden by hide-aws-sdk.mjs)");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
