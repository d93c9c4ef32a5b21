// websession/fetch called directly with Node's own Request, on every shape of Response a handler
// returns: its own (Set-Cookie kept), a fetch() answer from a local upstream (immutable headers),
// Response.redirect (immutable too) and a streamed body, which the adapter must never read.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { decodePayload, MemoryStore, storeKey } from 'websession';
import { withSession } from 'websession/fetch';
import { captureConsole } from '../helpers/console-capture.js';

/** An upstream whose answers, fetched, have immutable headers (and a cookie of its own). */
let releaseSlow: (() => void) | undefined;
const upstream = createServer((req, res) => {
  if (req.url === '/slow') {
    // Half an answer, the rest only once the test says so.
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first ');
    releaseSlow = () => res.end('last');
    return;
  }
  res.writeHead(200, { 'Set-Cookie': 'upstream=1; Path=/', 'Content-Type': 'text/plain' });
  res.end('from upstream');
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
after(() => upstream.close());
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;

const sessionCookie = (response: Response) =>
  response.headers.getSetCookie().find((c) => c.startsWith('webpy_session_id='));

async function storedData(store: MemoryStore, setCookie: string | undefined) {
  const id = (setCookie ?? '').split(';')[0]!.split('=')[1]!;
  const record = await store.get(storeKey(id));
  return record && decodePayload(record.data).data;
}

describe('websession/fetch: the response shapes', () => {
  it("keeps the handler's own Set-Cookie and adds the session's with Cache-Control", async () => {
    const store = new MemoryStore();
    const handler = withSession(store, (_request, session) => {
      session.logged_in = true;
      const headers = new Headers({ 'Set-Cookie': 'theme=dark; Path=/' });
      headers.append('Set-Cookie', 'lang=en; Path=/');
      return new Response('in', { headers });
    });
    const response = await handler(new Request('http://localhost/login'));
    const cookies = response.headers.getSetCookie();
    assert.equal(cookies.length, 3, cookies.join(' | '));
    assert.ok(cookies[0]?.startsWith('theme=dark') && cookies[1]?.startsWith('lang=en'));
    assert.ok(sessionCookie(response));
    assert.equal(response.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(await storedData(store, sessionCookie(response)), { logged_in: true });
    assert.equal(await response.text(), 'in');
  });

  it('reads the session from the Cookie header and names Cookie in Vary', async () => {
    const store = new MemoryStore();
    const handler = withSession<{ n: number }>(store, (_request, session) => {
      session.n = session.get('n', 0) + 1;
      return new Response(String(session.n), { headers: { Vary: 'Accept-Encoding' } });
    });
    const first = await handler(new Request('http://localhost/'));
    const cookie = sessionCookie(first)!.split(';')[0]!;
    const second = await handler(new Request('http://localhost/', { headers: { cookie } }));
    assert.equal(await second.text(), '2');
    assert.equal(second.headers.get('vary'), 'Accept-Encoding, Cookie');
  });

  it('a fetch() answer passed on (immutable headers): copied around its body, cookies added', async () => {
    const probe = await fetch(upstreamUrl);
    assert.throws(() => probe.headers.append('x-probe', '1'), TypeError);
    await probe.body?.cancel();
    const store = new MemoryStore();
    let passedOn: Response | undefined;
    const handler = withSession(store, async (_request, session) => {
      session.logged_in = true;
      passedOn = await fetch(upstreamUrl);
      return passedOn;
    });
    const response = await handler(new Request('http://localhost/proxy'));
    assert.notEqual(response, passedOn, 'a copy, since the original refuses changes');
    assert.equal(passedOn?.bodyUsed, false, 'the body was not read');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain');
    const cookies = response.headers.getSetCookie();
    assert.ok(cookies[0]?.startsWith('upstream=1'), cookies.join(' | '));
    assert.ok(sessionCookie(response), cookies.join(' | '));
    assert.equal(response.headers.get('cache-control'), 'private, no-store');
    assert.equal(await response.text(), 'from upstream');
    assert.deepEqual(await storedData(store, sessionCookie(response)), { logged_in: true });
  });

  it('Response.redirect (immutable headers): a 303 with its Location and the session cookie', async () => {
    const store = new MemoryStore();
    const handler = withSession(store, (_request, session) => {
      session.regenerate();
      session.logged_in = true;
      return Response.redirect('http://localhost/', 303);
    });
    const response = await handler(new Request('http://localhost/login'));
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'http://localhost/');
    assert.ok(sessionCookie(response));
    assert.equal(response.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(await storedData(store, sessionCookie(response)), { logged_in: true });
  });

  it('a streamed body is never pulled by the adapter: the client reads every chunk', async () => {
    const store = new MemoryStore();
    const pulls: number[] = [];
    const chunks = ['one ', 'two ', 'three'];
    let stream: ReadableStream<Uint8Array> | undefined;
    const handler = withSession(store, (_request, session) => {
      session.streamed = true;
      stream = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulls.push(pulls.length);
            const next = chunks[pulls.length - 1];
            if (next === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(next));
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(stream, { headers: { 'Content-Type': 'text/plain' } });
    });
    const response = await handler(new Request('http://localhost/stream'));
    assert.deepEqual(pulls, [], 'the adapter pulled nothing from the body');
    assert.equal(response.body, stream, 'the body is the handler’s own stream, not a tee');
    assert.ok(sessionCookie(response));
    assert.equal(await response.text(), 'one two three');
    assert.equal(pulls.length, 4);
  });

  it('a fetch() answer still streaming upstream: returned before the upstream ends, unbuffered', async () => {
    const store = new MemoryStore();
    const handler = withSession(store, async (_request, session) => {
      session.proxied = true;
      return fetch(`${upstreamUrl}slow`);
    });
    const response = await handler(new Request('http://localhost/proxy'));
    assert.ok(sessionCookie(response));
    assert.ok(releaseSlow, 'the upstream is still holding its answer open');
    releaseSlow();
    assert.equal(await response.text(), 'first last');
  });

  it('a handler that throws: what it set is saved, onError answers with the cookie', async () => {
    const store = new MemoryStore();
    const seen: unknown[] = [];
    const handler = withSession(
      store,
      (_request, session) => {
        session.before = 'the throw';
        throw new Error('handler failed');
      },
      {
        onError: (error) => {
          seen.push(error);
          return new Response('sorry', { status: 500 });
        },
      },
    );
    const response = await handler(new Request('http://localhost/'));
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'sorry');
    assert.match(String(seen[0]), /handler failed/);
    assert.deepEqual(await storedData(store, sessionCookie(response)), { before: 'the throw' });
  });

  it('by default a throw is logged and answered 500 internal server error', async () => {
    const handler = withSession(new MemoryStore(), () => {
      throw new Error('handler failed (thrown on purpose by the test)');
    });
    const { result: response, printed } = await captureConsole(() =>
      handler(new Request('http://localhost/')),
    );
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'internal server error');
    assert.match(printed[0] ?? '', /handler failed/);
  });
});
