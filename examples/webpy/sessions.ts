// web.py's sessions example (webpy.org/sessions), line by line in TypeScript.
import * as web from 'websession/web';

const urls = ['/', 'Index', '/login', 'Login', '/logout', 'Logout'];

web.config.debug = false;
const app = web.application(urls, () => ({ Index, Login, Logout }));
const session = web.session.Session(app, web.session.DiskStore('sessions'));

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
