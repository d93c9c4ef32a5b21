// Login: a new session id (against fixation), then back to the page. ?remember=1 keeps the
// cookie for 30 days ("remember me", through commitSession's maxAge).
import { redirect } from 'react-router';
import { websessionOf } from 'websession/react-router';
import { commitSession, getSession } from '../sessions.server.js';

export async function loader({ request }) {
  const session = await getSession(request.headers.get('Cookie'));
  websessionOf(session).regenerate();
  session.set('logged_in', true);
  const remember = new URL(request.url).searchParams.get('remember') === '1';
  const cookie = await commitSession(session, remember ? { maxAge: 30 * 86400 } : undefined);
  return redirect('/', { headers: { 'Set-Cookie': cookie } });
}
