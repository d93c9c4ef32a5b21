// storeFromUrl for the URL of a server store: the Store itself, for tests that call its record
// methods (storeFromUrl answers a Store or a sealer; a sealer here fails the test).
import { type Store, type StoreUrlOptions, storeFromUrl } from 'websession';

export async function serverStoreFromUrl(raw: string, options?: StoreUrlOptions): Promise<Store> {
  const store = await storeFromUrl(raw, options);
  if ('seal' in store) throw new Error(`${raw} names a sealer, not a Store`);
  return store;
}
