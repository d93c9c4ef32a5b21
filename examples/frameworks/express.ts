// The example routes (the five of web.py's example and /metrics) on Express (5, or 4 given as `expressFactory`) with websession/express.
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { StoreOrSealer } from 'websession';
import { session, sessionErrors, sessionOf } from 'websession/express';
import {
  type ExampleOptions,
  home,
  LOGGED_IN,
  LOGGED_OUT,
  listening,
  METHOD_NOT_ALLOWED,
  managerWithMetrics,
  ROUTES,
} from './shared.js';

type Data = { logged_in: boolean; count: number };

/** The example app; `expressFactory` lets the tests run it on Express 4 too. */
export function createApp(
  store: StoreOrSealer,
  options: Pick<ExampleOptions, 'session'>,
  expressFactory: () => Express = express,
): Express {
  const app = expressFactory();
  const { manager, metrics } = managerWithMetrics(store, options);
  app.use(session<Data>(manager));
  app.get('/', (req, res) => {
    res.type('html').send(sessionOf<Data>(req).get('logged_in', false) ? LOGGED_IN : LOGGED_OUT);
  });
  app.get('/login', (req, res) => {
    sessionOf<Data>(req).logged_in = true;
    res.redirect(303, home(req.headers.host));
  });
  app.get('/logout', (req, res) => {
    sessionOf<Data>(req).logged_in = false;
    res.redirect(303, home(req.headers.host));
  });
  app.get('/count', (req, res, next) => {
    // `.then(…, next)`: Express 4 does not pass a rejected promise on to the error handlers.
    sessionOf<Data>(req)
      .update((s) => {
        s.count = (s.count ?? 0) + 1;
      })
      .then((data) => res.type('text/plain').send(String(data.count)), next);
  });
  app.get('/kill', (req, res) => {
    sessionOf<Data>(req).kill();
    res.type('text/plain').send('killed');
  });
  app.get('/metrics', (_req, res) => {
    // end(), not send(): Express 4's send() would reorder the Content-Type's parameters.
    res.setHeader('Content-Type', metrics.contentType);
    res.end(metrics.text());
  });
  // Another method on a route (GET and HEAD were answered above): 405, as web.py.
  app.all([...ROUTES], (_req, res) => {
    res.status(METHOD_NOT_ALLOWED.status).set(METHOD_NOT_ALLOWED.headers);
    res.end(METHOD_NOT_ALLOWED.body);
  });
  // A store outage inside a handler (the update of /count): 503 with the shared body.
  app.use(sessionErrors());
  return app;
}

export function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  return listening(createApp(store, options).listen(options.port, options.host), options);
}
