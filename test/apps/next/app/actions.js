'use server';
// A server action: the same helper as the route handlers.
import { withSession } from '../lib/session.js';

export async function logInRemembered() {
  await withSession((session) => {
    session.regenerate();
    session.logged_in = true;
    session.setMaxAge(30 * 86400);
  });
}
