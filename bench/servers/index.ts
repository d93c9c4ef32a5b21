// Every server the bench measures, by id. Each runs in its own child process (./child.ts) and
// answers the same counter: `GET /` reads `count` from the session, adds one, stores it and answers
// the number; `GET /visit` only reads it (the "new visitor" rows). Servers with no session answer
// a counter of their own.
//
// To add a server (say `websession/express-session` against express-session, or a migration
// path): write one file beside this one that exports a `Record<string, ServerSpec>` of its
// server(s) by id (see ./common.ts: `ServerSpec`, and the helpers `ours`, `bare`, `openStore`,
// `listen`, `countSession`; ./peers-express-session.ts has `expressSession` for a peer on
// Express), then add one line to the list below. That gives it a session row (on `spec.path`,
// `/` by default) in every run; new-visitor and rotation rows are listed in ../rows.ts, and a
// target comparing it with another row is one entry in ../targets.ts.
import type { ServerSpec } from './common.js';
import { EXAMPLES } from './examples.js';
import { EXPRESS } from './express.js';
import { FASTIFY } from './fastify.js';
import { FLOORS } from './floors.js';
import { HONO } from './hono.js';
import { KOA } from './koa.js';
import { NODE } from './node.js';
import { EXPRESS_SESSION } from './peers-express-session.js';
import { FASTIFY_SESSION } from './peers-fastify-session.js';
import { IRON_SESSION } from './peers-iron-session.js';
import { WEBPY } from './peers-webpy.js';
import { WEB } from './web.js';

export {
  MYSQL_URL,
  POSTGRES_URL,
  PYTHON,
  REDIS_URL,
  type ServerSpec,
  type Service,
} from './common.js';
export { LIMIT } from './floors.js';

export const SERVERS: Record<string, ServerSpec> = {
  ...NODE,
  ...FLOORS,
  ...EXPRESS,
  ...FASTIFY,
  ...HONO,
  ...KOA,
  ...WEB,
  ...EXAMPLES,
  ...EXPRESS_SESSION,
  ...FASTIFY_SESSION,
  ...IRON_SESSION,
  ...WEBPY,
};
