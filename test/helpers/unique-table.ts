import { randomBytes } from 'node:crypto';

/** A table name unique to this run, so parallel runs never meet. */
export const uniqueTable = (prefix = 'ws_test') =>
  `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
