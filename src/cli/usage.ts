/**
 * The text `websession --help` prints.
 * @module
 */

/** The command's usage: its commands, store URLs and exit codes. */
export const USAGE = `usage: websession <command> [options]
       websession --version

commands:
  stats   --store <url> [--json]             count, oldest and newest access, bytes
  list    --store <url> [--user <id>] [--limit N] [--offset N] [--json]
                                             store keys (or a user's sessions), paged
  show    --store <url> <key> | --cookie -   one session's data, as JSON (--cookie -: the
                                             cookie value on stdin, or WEBSESSION_COOKIE)
  kill    --store <url> <key> | --user <id>  delete one session, or all of a user's
  cleanup --store <url> --timeout <seconds> [--dry-run]
                                             delete sessions idle longer than that
  migrate --from <url> --to <url> [--timeout <seconds>] [--jobs N]
                                             copy every live session; resumable, verified
  migrate --from-express-session <module> --to <url> [--jobs N]
                                             move every express-session session (the module
                                             exports its store and secret); resumable

store URLs: memory:, disk:./sessions, sqlite:./sessions.db, postgres://…, mysql://…,
            shelf:./sessions.shelf, redis://… (?connectTimeout=<ms>, default 1000 here);
            cookie: holds nothing on the server, so every command refuses it
Only migrate --to creates a folder, file or table; every other store must exist.
exit codes: 0 done, 1 failed, 2 usage error, 3 not found`;
