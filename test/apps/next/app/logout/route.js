// Logout: the session's record deleted and its cookie expired.
import { withSession } from '../../lib/session.js';

export async function GET() {
  await withSession((session) => session.kill());
  return new Response(null, { status: 303, headers: { Location: '/' } });
}
