// One HTTP request of the conformance suites and what its answer says.
import assert from 'node:assert/strict';
import { captureConsole } from '../helpers/console-capture.js';
import { httpGet } from '../helpers/http-client.js';
import type { Running } from './servers.js';

export interface Answer {
  status: number;
  body: string;
  setCookies: string[];
  location: string | null;
  cacheControl: string | null;
  vary: string | null;
}

export async function get(
  base: Running,
  path: string,
  cookie?: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const answer = await httpGet(base.url + path, { ...init, cookie });
  const header = (name: string) => {
    const value = answer.headers[name];
    return value === undefined ? null : String(value);
  };
  return {
    status: answer.status,
    body: answer.body,
    setCookies: answer.setCookies,
    location: answer.location ?? null,
    cacheControl: header('cache-control'),
    vary: header('vary'),
  };
}

/** The `name=value` part of the one Set-Cookie of an answer. */
export function cookieOf(answer: Answer): string {
  assert.equal(
    answer.setCookies.length,
    1,
    `expected one Set-Cookie, got ${JSON.stringify(answer.setCookies)}`,
  );
  return answer.setCookies[0]!.split(';')[0]!;
}

/**
 * GET /boom of a framework's boom app: a 500, and only the web layer reports the error itself
 * (with its stack); the adapters leave that to the framework's error handler, which the boom
 * apps replace.
 */
export async function getBoom(framework: string, boom: Running, cookie: string): Promise<Answer> {
  const { result: answer, printed } = await captureConsole(() => get(boom, '/boom', cookie));
  assert.equal(answer.status, 500);
  assert.deepEqual(
    printed.map((line) => line.split('\n')[0]),
    framework === 'web' ? ['Error: boom (thrown on purpose by the conformance suite)'] : [],
    'only the web layer reports the error itself',
  );
  return answer;
}
