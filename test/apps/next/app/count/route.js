// The counter: an atomic update of the stored session, so that parallel requests all count.
import { withSession } from '../../lib/session.js';

export async function GET() {
  const data = await withSession((session) =>
    session.update((d) => {
      d.count = (d.count ?? 0) + 1;
    }),
  );
  return new Response(String(data.count), { headers: { 'Content-Type': 'text/plain' } });
}
