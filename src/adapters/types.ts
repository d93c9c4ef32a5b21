/**
 * The data type of the session the framework adapters put on their request objects.
 * @module
 */
import type { SessionData } from '../core/codec.js';

/**
 * The keys of your application's sessions. Empty by default, which leaves sessions untyped
 * (`Record<string, unknown>`); declare your keys once, in the module of the adapter you import,
 * to type `sessionOf(req)` (Express, Fastify, Koa) and `c.var.session` (Hono) everywhere:
 *
 * @example
 * declare module 'websession/express' {
 *   interface AppSessionData { logged_in: boolean; user: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: declared empty so that applications can merge their keys into it
export interface AppSessionData {}

/** {@link AppSessionData} as session data: untyped while it is empty. */
export type AppData = keyof AppSessionData extends never
  ? SessionData
  : { [K in keyof AppSessionData]: AppSessionData[K] };
