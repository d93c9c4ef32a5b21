/**
 * The parameters PostgreSQL's and MySQL's drivers read from a connection URL, and the check of a
 * URL given to `database({ url })`: shared by store URLs (url.ts) and DBStore's database().
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { parseUrl, shown } from './url-params.js';

/** What pg reads from a connection URL (pg-connection-string). */
export const PG_DRIVER_PARAMS = [
  'sslmode',
  'ssl',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'encoding',
  'host',
  'port',
  'user',
  'password',
  'db',
  'statement_timeout',
  'query_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'keepalives',
  'keepalives_idle',
  'connect_timeout',
];
/** What mysql2 reads from a connection URL (its ConnectionConfig). */
export const MYSQL_DRIVER_PARAMS = [
  'ssl',
  'charset',
  'timezone',
  'dateStrings',
  'supportBigNumbers',
  'bigNumberStrings',
  'decimalNumbers',
  'compress',
  'flags',
  'localAddress',
  'socketPath',
  'enableKeepAlive',
  'keepAliveInitialDelay',
  'connectAttributes',
  'insecureAuth',
  'enableCleartextPlugin',
  'multipleStatements',
  'host',
  'port',
  'user',
  'password',
  'database',
];

/**
 * Checks the connection URL given to `database({ url })`: a PostgreSQL or MySQL URL whose
 * parameters are the driver's (the store's own, `table` and `connectTimeout`, belong to store
 * URLs and to `DBStore`'s and `database`'s arguments).
 * @throws ConfigError naming an unknown parameter and the known ones
 */
export function checkDatabaseUrl(dbn: 'postgres' | 'mysql', raw: string): void {
  const { url } = parseUrl(raw);
  const known = dbn === 'mysql' ? MYSQL_DRIVER_PARAMS : PG_DRIVER_PARAMS;
  for (const name of new Set(url.searchParams.keys())) {
    if (!known.includes(name))
      throw new ConfigError(
        `unknown parameter "${name}" in database URL ${JSON.stringify(shown(raw))}; the ${dbn} driver takes ${known.join(', ')}`,
      );
  }
}
