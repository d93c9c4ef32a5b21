// web.py's sessions example with DBStore: sessions in a table of the application's database.
// To move it to another engine, change only the database line:
//   web.database({ dbn: 'postgres', db: 'test', user: 'postgres', host: '127.0.0.1' })
//   web.database({ dbn: 'mysql', db: 'test', user: 'root', host: '127.0.0.1' })
import * as web from 'websession/web';

// biome-ignore format: web.py's layout, one route per line
const urls = [
  '/', 'Index',
  '/login', 'Login',
  '/logout', 'Logout',
];

web.config.debug = false;
const app = web.application(urls, () => ({ Index, Login, Logout }));
const db = web.database({ dbn: 'sqlite', db: 'sessions.db' });
const store = web.session.DBStore(db, 'sessions', { createTable: true });
const session = web.session.Session(app, store);

class Index {
  GET() {
    if (session.get('logged_in', false)) {
      return '<h1>You are logged in</h1><a href="/logout">Logout</a>';
    }
    return '<h1>You are not logged in.</h1><a href="/login">Login now</a>';
  }
}

class Login {
  GET() {
    session.logged_in = true;
    throw web.seeother('/');
  }
}

class Logout {
  GET() {
    session.logged_in = false;
    throw web.seeother('/');
  }
}

if (web.isMain(import.meta)) {
  app.run();
}

export { app, db, session };
