// `node --import ./test/helpers/hide-packages.mjs …`: the packages named in HIDE_PACKAGES
// (comma-separated) cannot be imported, as on a machine where they are not installed.
import { register } from 'node:module';

const hooks = `
const hidden = new Set(${JSON.stringify((process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean))});
export async function resolve(specifier, context, next) {
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  if (hidden.has(name)) {
    const err = new Error("Cannot find package '" + name + "' imported from " + context.parentURL);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
