// The page: who is logged in, read from the session in the loader.
import { useLoaderData } from 'react-router';
import { getSession } from '../sessions.server.js';

export async function loader({ request }) {
  const session = await getSession(request.headers.get('Cookie'));
  return { loggedIn: session.get('logged_in') === true };
}

export default function Home() {
  const { loggedIn } = useLoaderData();
  return <h1>{loggedIn ? 'You are logged in' : 'You are not logged in'}</h1>;
}
