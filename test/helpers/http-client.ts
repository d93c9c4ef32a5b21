// The tests' HTTP client: one request on a fresh connection (no keep-alive, so each request
// meets the server listening now, and a restarted one is met too), redirects not followed, a
// deadline on every answer; and a visitor that keeps its session cookie as a browser does.
import { type IncomingHttpHeaders, request } from 'node:http';

/** An HTTP answer, read whole. */
export interface Answer {
  status: number;
  /** Header names in lower case; Set-Cookie is `setCookies`. */
  headers: IncomingHttpHeaders;
  body: string;
  setCookies: string[];
  /** The `Location` header (a redirect's target), undefined without one. */
  location: string | undefined;
}

export interface RequestOptions {
  method?: string;
  /** Sent as the Cookie header. */
  cookie?: string;
  headers?: Record<string, string>;
  /** The local address to send from (another loopback address is another client IP). */
  localAddress?: string;
  /**
   * A request not answered in this many ms fails. None by default: a request waits for its answer
   * or its connection's error, as a busy machine may take long (the test's timeout is the limit).
   */
  timeoutMs?: number;
}

/** One request to `url` (GET unless `method` says otherwise). */
export function httpGet(url: string, options: RequestOptions = {}): Promise<Answer> {
  const { method = 'GET', cookie, localAddress, timeoutMs } = options;
  const headers = { ...options.headers, ...(cookie === undefined ? {} : { cookie }) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          setCookies: res.headers['set-cookie'] ?? [],
          location: res.headers.location,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (timeoutMs !== undefined)
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)),
      );
    req.end();
  });
}

/** The `name=value` of the cookie `name` that an answer sets and does not expire, if any. */
export function liveCookie(answer: Answer, name: string): string | undefined {
  const live = answer.setCookies.find((c) => c.startsWith(`${name}=`) && !/max-age=0/i.test(c));
  return live?.split(';')[0];
}

/** A visitor keeping the one session cookie it is given: set, replaced, and dropped when expired. */
export class CookieClient {
  cookie: string | undefined;
  /** The `Location` header of the last answer, undefined without one. */
  location: string | undefined;
  async get(url: string): Promise<Answer> {
    const answer = await httpGet(url, this.cookie === undefined ? {} : { cookie: this.cookie });
    this.location = answer.location;
    const set = answer.setCookies[0];
    if (set) {
      const pair = set.split(';')[0]!;
      this.cookie = /=$/.test(pair) || /max-age=0/i.test(set) ? undefined : pair;
    }
    return answer;
  }
}
