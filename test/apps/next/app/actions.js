'use server';
// A server action: the same helper as the route handlers. redirect() inside it is a throw: what
// was set before it is saved, and the cookie goes with the redirect.
import { redirect } from 'next/navigation';
import { withSession } from '../lib/session.js';

export async function logInRemembered() {
  await withSession((session) => {
    session.regenerate();
    session.logged_in = true;
    session.setMaxAge(30 * 86400);
    redirect('/');
  });
}
