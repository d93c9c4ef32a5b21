/**
 * The line `app.run()` prints once it listens: web.py's `http://0.0.0.0:8080/`, plus, when it
 * listens on every interface, the address to open on this machine.
 * @module
 */

/** Prints where the application listens. */
export function announce(host: string, port: number): void {
  const shown = host.includes(':') ? `[${host}]` : host;
  const everywhere = host === '0.0.0.0' || host === '::' || host === '';
  console.log(
    everywhere
      ? `http://${shown}:${port}/ (every interface; on this machine: http://localhost:${port}/)`
      : `http://${shown}:${port}/`,
  );
}
