// Logout: the session's record deleted and its cookie expired.
import { redirect } from 'next/navigation';
import { withSession } from '../../lib/session.js';

export async function GET() {
  await withSession((session) => session.kill());
  redirect('/');
}
