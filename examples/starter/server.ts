// A visit counter: one session per browser, kept in ./sessions, on Node's own HTTP server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiskStore } from 'websession';
import { withSession } from 'websession/node';

const listener = withSession<{ visits: number }>(
  new DiskStore('sessions'),
  async (req, res, session) => {
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    const data = await session.update((s) => {
      s.visits = (s.visits ?? 0) + 1;
    });
    res.end(`visits: ${data.visits}\n`);
  },
);

const server = createServer(listener);
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
