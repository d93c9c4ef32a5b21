// What every framework example shares: the web.py example's exact HTML strings and options.
import type { SessionConfig } from 'websession';

export const LOGGED_IN = '<h1>You are logged in</h1><a href="/logout">Logout</a>';
export const LOGGED_OUT = '<h1>You are not logged in.</h1><a href="/login">Login now</a>';

export interface ExampleOptions {
  host: string;
  port: number;
  /** Extra session config (tests use it; the runner passes none). */
  session?: SessionConfig<{ logged_in: boolean; count: number }>;
}
