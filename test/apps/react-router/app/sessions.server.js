// The app's sessions: a React Router SessionStorage over websession's DiskStore (the folder
// comes from SESSIONS_DIR).
import { DiskStore } from 'websession';
import { createWebSessionStorage } from 'websession/react-router';

export const { getSession, commitSession, destroySession } = createWebSessionStorage(
  new DiskStore(process.env.SESSIONS_DIR ?? 'sessions'),
  { config: { cleanup_interval: 0 } },
);
