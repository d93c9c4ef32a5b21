// The page (a Server Component): who is logged in, read from the session; and a form that logs
// in through a server action.

import { withSession } from '../lib/session.js';
import { logInRemembered } from './actions.js';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const loggedIn = await withSession((session) => session.get('logged_in', false));
  return (
    <main>
      <h1>{loggedIn ? 'You are logged in' : 'You are not logged in'}</h1>
      <form action={logInRemembered}>
        <button type="submit">Log in and remember me</button>
      </form>
    </main>
  );
}
