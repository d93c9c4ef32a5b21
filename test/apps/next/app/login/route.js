// Login: a new session id (against fixation), then back to the page. ?remember=1 keeps the
// cookie for 30 days ("remember me"). Next adds the cookie set through cookies() to the answer.
import { withSession } from '../../lib/session.js';

export async function GET(request) {
  const remember = new URL(request.url).searchParams.get('remember') === '1';
  await withSession((session) => {
    session.regenerate();
    session.logged_in = true;
    if (remember) session.setMaxAge(30 * 86400);
  });
  return new Response(null, { status: 303, headers: { Location: '/' } });
}
