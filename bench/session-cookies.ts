// Sessions made over HTTP for the load generator: the cookie of one, or the cookies of many in a
// file with the wrk script that sends them in turn (the rotation rows, bench/profile.ts
// --rotation). No bench options are read here, so any bench script may use it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A first request (on `path`) that creates the session every measured request then uses; with
 * `cookie`, a request with it, for the cookie the answer sets (empty when it sets none).
 */
export async function sessionCookie(url: string, path = '/', cookie = ''): Promise<string> {
  const res = await fetch(`${url}${path}`, cookie ? { headers: { cookie } } : {});
  await res.text();
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/**
 * `count` sessions made over HTTP on `path`, ten at a time, their cookies written one per line to
 * `file` (returned). `id` names the server in the error when a request sets no cookie.
 */
export async function writeSessionCookies(
  url: string,
  path: string,
  id: string,
  count: number,
  file: string,
): Promise<string> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => sessionCookie(url, path)));
    for (const c of batch) {
      if (!c) throw new Error(`${id}: a first request set no session cookie`);
      cookies.push(c);
    }
  }
  writeFileSync(file, `${cookies.join('\n')}\n`);
  return file;
}

const ROTATE_LUA = `
local cookies = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
end
function request()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { Cookie = cookies[i] })
end
`;

/**
 * Writes into `dir` the wrk script that sends each request with the next cookie of a file (one
 * per line, the file named after `--`), in turn, and returns its path.
 */
export function writeRotationScript(dir: string): string {
  const script = join(dir, 'rotate.lua');
  writeFileSync(script, ROTATE_LUA);
  return script;
}
