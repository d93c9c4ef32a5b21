/**
 * A command's store, opened from the URL given on the command line.
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { isCookieSealer } from '../core/sealer.js';
import type { Store } from '../core/store.js';
import { storeFromUrl } from '../stores/url.js';
import { shown } from '../stores/url-params.js';
import { UsageError, userMessage } from './errors.js';

/** ms to wait for a server's connection, unless the store URL says (`?connectTimeout=`). */
const CONNECT_TIMEOUT = 1000;

/**
 * Opens a store URL. Only the destination of `migrate` is created when missing (`create`); any
 * other missing folder, file or table is an error, and nothing is made.
 */
export async function openStore(
  url: string | undefined,
  flag: string,
  create = false,
): Promise<Store> {
  if (!url) throw new UsageError(`missing ${flag} <store-url>`);
  if (/^cookie:/i.test(url))
    throw new UsageError(
      create
        ? "cannot migrate into cookie: (CookieStore keeps each session in its browser's cookie; a server cannot hand sessions to browsers): keep a server store"
        : "cookie: (CookieStore) keeps each session in its browser's cookie: the server has no sessions to read, list, kill or clean up",
    );
  let opened: Awaited<ReturnType<typeof storeFromUrl>>;
  try {
    opened = await storeFromUrl(url, { create, connectTimeout: CONNECT_TIMEOUT });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(userMessage(err));
    throw err;
  }
  // A scheme registered by the application may answer a sealer too: nothing to read there either.
  if (isCookieSealer(opened)) {
    await opened.close();
    throw new UsageError(
      `${shown(url)} keeps each session in its browser's cookie: the server has no sessions for this command`,
    );
  }
  return opened;
}
