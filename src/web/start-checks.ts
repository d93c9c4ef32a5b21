/**
 * What `app.run()` checks before it listens: each `web.session.Session(app, store)` adds its
 * store's `ready()`, so that a permanent misconfiguration (a missing table or driver) stops the
 * start with one line saying what to do, instead of answering 503 to every request. Kept apart
 * from the application object so that it adds nothing to its public shape.
 * @module
 */
const checks = new WeakMap<object, Map<string, () => Promise<void>>>();

/** Sets the start-up check `name` of `app` (set again, it replaces the one before). */
export function setStartCheck(app: object, name: string, check: () => Promise<void>): void {
  const named = checks.get(app) ?? new Map<string, () => Promise<void>>();
  named.set(name, check);
  checks.set(app, named);
}

/** Runs `app`'s start-up checks; rejects with the first failure. */
export async function runStartChecks(app: object): Promise<void> {
  await Promise.all([...(checks.get(app)?.values() ?? [])].map((check) => check()));
}
