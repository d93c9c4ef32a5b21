// Logout: the session's record deleted and its cookie expired.
import { redirect } from 'react-router';
import { destroySession, getSession } from '../sessions.server.js';

export async function loader({ request }) {
  const session = await getSession(request.headers.get('Cookie'));
  return redirect('/', { headers: { 'Set-Cookie': await destroySession(session) } });
}
