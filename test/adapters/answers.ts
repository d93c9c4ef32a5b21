// One HTTP request of the conformance suites and what its answer says.
import assert from 'node:assert/strict';
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
  const res = await fetch(base.url + path, {
    redirect: 'manual',
    method: init.method ?? 'GET',
    headers: { ...init.headers, ...(cookie === undefined ? {} : { cookie }) },
  });
  return {
    status: res.status,
    body: await res.text(),
    setCookies: res.headers.getSetCookie(),
    location: res.headers.get('location'),
    cacheControl: res.headers.get('cache-control'),
    vary: res.headers.get('vary'),
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
