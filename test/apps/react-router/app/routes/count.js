// The counter: an atomic update of the stored session, so that parallel requests all count.
import { updateSession } from 'websession/react-router';
import { commitSession, getSession } from '../sessions.server.js';

export async function loader({ request }) {
  const session = await getSession(request.headers.get('Cookie'));
  const data = await updateSession(session, (d) => {
    d.count = (d.count ?? 0) + 1;
  });
  const headers = new Headers({ 'Content-Type': 'text/plain' });
  const cookie = await commitSession(session);
  if (cookie) headers.set('Set-Cookie', cookie);
  return new Response(String(data.count), { headers });
}
