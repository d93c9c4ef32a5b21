// The app's sessions: websession's DiskStore (the folder comes from SESSIONS_DIR), reached
// through one helper in route handlers, server actions and (reading) pages.
import { DiskStore } from 'websession';
import { nextSession } from 'websession/next';

export const withSession = nextSession(new DiskStore(process.env.SESSIONS_DIR ?? 'sessions'), {
  config: { cleanup_interval: 0 },
});
