// The peer for sessions sealed in the cookie: iron-session on node:http, the same counter.
import { loadUntyped, nodeServer, SECRET, type ServerSpec } from './common.js';

export const IRON_SESSION: Record<string, ServerSpec> = {
  'peer-iron-session': {
    label: 'iron-session (sealed cookie) on node:http',
    framework: 'node',
    store: 'cookie',
    kind: 'peer',
    async start() {
      const { getIronSession } = await loadUntyped('iron-session');
      const options = { password: SECRET, cookieName: 'iron', cookieOptions: { secure: false } };
      const server = await nodeServer(async (req, res) => {
        const s = await getIronSession(req, res, options);
        const n = (s.count as number | undefined) ?? 0;
        if (req.url === '/visit') return void res.end(String(n));
        s.count = n + 1;
        await s.save();
        res.end(String(n + 1));
      });
      return { server };
    },
  },
};
