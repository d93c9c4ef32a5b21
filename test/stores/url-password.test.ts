// No message, log line or error ever shows a store URL's password, whatever the URL looks like:
// a raw "/", "?", "#" or "@" in the password, a leading space, a password= parameter, percent-
// encoded or not. Property-tested across odd passwords and every error path a URL can take
// (bad scheme, unknown or bad parameter, bad Redis URL, database({ url }), an unreachable server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { database, RedisStore, type Store, storeFromUrl, storeKey } from 'websession';
import { parseStoreUrl } from '../../src/stores/url.js';
import { shown } from '../../src/stores/url-params.js';
import { captureConsole, recordingLogger } from '../helpers/console-capture.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';

/** The part of every generated password that must never show. */
const MARK = 'S3CR3T';
/** Characters that break naive URL masking. */
const ODD = [...' /#?@:%&=;\\"\'[]~+$!*,'];
const oddText = fc.array(fc.oneof(fc.constantFrom(...ODD), fc.constantFrom('a', 'B', '1')), {
  maxLength: 6,
});
const password = fc.tuple(oddText, oddText).map(([a, b]) => `${a.join('')}${MARK}${b.join('')}`);
const SERVER_SCHEMES = ['postgres', 'postgresql', 'mysql', 'mariadb', 'redis', 'rediss'];

/** The message (and stack) of what `fn` throws or rejects with; '' when it does not. */
async function failureOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return '';
  } catch (err) {
    return err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  }
}

/** A URL with `pw` as the password, written raw or percent-encoded. */
function urlWith(
  scheme: string,
  pw: string,
  how: { encode: boolean; lead: string; query: string },
) {
  const written = how.encode ? encodeURIComponent(pw) : pw;
  return `${how.lead}${scheme}://app:${written}@127.0.0.1:1/db${how.query}`;
}

const QUERIES = ['', '?bogus=1', '?connectTimeout=soon', '?prefix=p&ttl=-1', '?table=t&cluster=2'];

describe('store URL passwords in messages', () => {
  it('shown() masks the password of any text, parsable or not', () => {
    fc.assert(
      fc.property(
        password,
        fc.constantFrom(...SERVER_SCHEMES, 'foo'),
        fc.boolean(),
        fc.constantFrom('', ' ', '  \t'),
        fc.constantFrom(...QUERIES),
        (pw, scheme, encode, lead, query) => {
          const text = shown(urlWith(scheme, pw, { encode, lead, query }));
          assert.ok(!text.includes(MARK), text);
          const param = shown(`${scheme}://h/db?user=u&password=${pw}`);
          assert.ok(!param.includes(MARK), param);
          // Without the slashes; a password written right after "scheme:" that itself starts
          // with "//" makes the text a URL with a user name, which is shown by design.
          if (!pw.startsWith('//')) {
            const bare = shown(`${lead}${scheme}:${pw}@h/db`);
            assert.ok(!bare.includes(MARK), bare);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('no error of parsing or opening a URL shows its password', async () => {
    await fc.assert(
      fc.asyncProperty(
        password,
        fc.constantFrom(...SERVER_SCHEMES),
        fc.boolean(),
        fc.constantFrom('', ' ', '  '),
        fc.constantFrom(...QUERIES),
        async (pw, scheme, encode, lead, query) => {
          const url = urlWith(scheme, pw, { encode, lead, query });
          const mysql = scheme === 'mysql' || scheme === 'mariadb';
          const messages = [
            await failureOf(() => parseStoreUrl(url)),
            await failureOf(() => parseStoreUrl(url.replace(scheme, 'nosuch'))),
            await failureOf(() => parseStoreUrl(url.replace(scheme, `${scheme}x`))),
            await failureOf(() => new RedisStore(url.replace(scheme, 'http'))),
            await failureOf(async () =>
              (await storeFromUrl(url.replace('://', ':'), { create: false })).close(),
            ),
            await failureOf(() => database({ dbn: mysql ? 'mysql' : 'postgres', url })),
          ];
          if (scheme.startsWith('redis'))
            messages.push(
              await failureOf(async () => {
                // Made (it connects in the background) and closed: only its constructor counts.
                await new RedisStore(url, { logger: recordingLogger() }).close();
              }),
            );
          for (const message of messages) assert.ok(!message.includes(MARK), message);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a percent-encoded password still reaches the driver whole', () => {
    fc.assert(
      fc.property(password, fc.constantFrom('postgres', 'mysql', 'redis'), (pw, scheme) => {
        const spec = parseStoreUrl(urlWith(scheme, pw, { encode: true, lead: '', query: '' }));
        const connection = (spec as { connection: string }).connection;
        assert.equal(decodeURIComponent(new URL(connection).password), pw);
      }),
      { numRuns: 200 },
    );
  });

  it('a raw "/", "?", "#" or "@" after the password is refused, not half-read as the host', () => {
    for (const pw of [`a/${MARK}`, `${MARK}?x`, `${MARK}#x`, `:${MARK}/x`, `p@${MARK}/x`]) {
      for (const scheme of ['postgres', 'mysql', 'redis']) {
        const url = `${scheme}://app:${pw}@db.example:5432/app`;
        assert.throws(
          () => parseStoreUrl(url),
          (err: unknown) =>
            err instanceof Error && /percent|%40/.test(err.message) && !err.message.includes(MARK),
          url,
        );
      }
    }
    // An "@" in the user info only (the URL parser takes the last one) is read right.
    const spec = parseStoreUrl(`postgres://app:p@${MARK}@db.example/app`) as { connection: string };
    assert.equal(new URL(spec.connection).hostname, 'db.example');
  });

  it('an unreachable server: the error, the log and the console never show the password', async () => {
    const key = storeKey('ab'.repeat(32));
    const odd = [` ${MARK}`, `${MARK}@x`, `/${MARK}`, `${MARK}#`, `?${MARK}`, `%${MARK}%`];
    for (const pw of odd) {
      for (const scheme of ['postgres', 'mysql', 'redis']) {
        for (const lead of ['', ' ']) {
          const url = `${lead}${scheme}://app:${encodeURIComponent(pw)}@127.0.0.1:1/db`;
          const logger = recordingLogger();
          const { result, printed } = await captureConsole(async () => {
            const messages: string[] = [];
            messages.push(
              await failureOf(async () => (await storeFromUrl(url, { create: false })).close()),
            );
            let store: Store | undefined;
            messages.push(
              await failureOf(async () => {
                store =
                  scheme === 'redis'
                    ? new RedisStore(url, { logger })
                    : await serverStoreFromUrl(url);
              }),
            );
            if (store) {
              messages.push(await failureOf(() => (store as Store).get(key)));
              await store.close();
            }
            return messages;
          });
          const failures = result.filter((m) => m !== '');
          assert.ok(failures.length >= 1, `${url}: it failed`);
          for (const line of [...result, ...printed, ...logger.lines])
            assert.ok(!line.includes(MARK) && !line.includes(encodeURIComponent(MARK)), line);
        }
      }
    }
  });
});
