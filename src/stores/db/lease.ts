/**
 * DBStore's store-wide lease, on every engine: a row of `<table>_lease` (beside the sessions
 * table, in its database and schema) naming its holder until it expires, and when the last
 * cleanup pass ended. Only accounts that may write that table can hold or block it, and no row
 * holds longer than {@link LEASE_MAX_MS} past now, whatever it says.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { StoreLease } from '../../core/store.js';
import type { Conn } from './sql.js';

/**
 * The longest a lease lasts without renewal: a row that expires later than this from now (a
 * forged row, a clock far ahead) counts as expired, and longer ttls are cut to it.
 */
export const LEASE_MAX_MS = 60_000;

/** The lease table's name and CREATE statement, beside session table `name` (quoted with `q`). */
export function leaseTable(mysql: boolean, name: string, q: (s: string) => string) {
  const t = q(`${name}_lease`);
  const ascii = mysql ? ' CHARACTER SET ascii' : '';
  const ddl = `CREATE TABLE IF NOT EXISTS ${t} (\n  name VARCHAR(64)${ascii} NOT NULL PRIMARY KEY,\n  owner CHAR(36)${ascii} NOT NULL,\n  expires BIGINT NOT NULL,\n  ended BIGINT\n)`;
  return { t, ddl };
}

/** The statement that takes lease row `name` for `owner` when it is absent or expired. */
function takeSql(mysql: boolean, t: string): string {
  const insert = `INSERT INTO ${t} (name, owner, expires) VALUES (?, ?, ?)`;
  if (mysql)
    // Left to right: `owner` changes only when the row is free; `expires` follows the owner.
    return `${insert} ON DUPLICATE KEY UPDATE owner = IF(expires <= ? OR expires > ?, VALUES(owner), owner), expires = IF(owner = VALUES(owner), VALUES(expires), expires)`;
  return `${insert} ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE ${t}.expires <= ? OR ${t}.expires > ?`;
}

/**
 * Takes lease `name` of table `t` for `ttlMs` (at most {@link LEASE_MAX_MS}); undefined while
 * another holder has it.
 */
export async function takeLease(
  c: Conn,
  mysql: boolean,
  t: string,
  name: string,
  ttlMs: number,
): Promise<StoreLease | undefined> {
  const ttl = Math.max(1, Math.min(Math.floor(ttlMs), LEASE_MAX_MS));
  const [owner, now] = [randomUUID(), Date.now()];
  await c.query(takeSql(mysql, t), [name, owner, now + ttl, now, now + LEASE_MAX_MS]);
  const { rows } = await c.query(`SELECT owner, ended FROM ${t} WHERE name = ?`, [name]);
  if (rows[0]?.owner !== owner) return undefined;
  const ended = rows[0].ended === null ? undefined : Number(rows[0].ended);
  const mine = 'WHERE name = ? AND owner = ?';
  return {
    // An end time in the future is not believed: it would stop every pass.
    lastPassEndedAt: ended !== undefined && ended <= Date.now() ? ended : undefined,
    renew: async () =>
      (await c.query(`UPDATE ${t} SET expires = ? ${mine}`, [Date.now() + ttl, name, owner]))
        .changed > 0,
    release: async (passEndedAt) => {
      const ended = passEndedAt === undefined ? null : Math.floor(passEndedAt);
      const sql = `UPDATE ${t} SET expires = 0, ended = COALESCE(?, ended) ${mine}`;
      await c.query(sql, [ended, name, owner]);
    },
  };
}
