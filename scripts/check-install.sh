#!/usr/bin/env bash
# Installs the package each way the README lists, into a fresh folder each, and uses it as an
# application does: a packed tarball, a path to a clone, a git URL (npm runs `prepare`, which
# builds dist/); then installs and runs examples/starter (which depends on the package by path).
# Run from a clone with its dependencies installed; the git route installs the package's dev
# dependencies into npm's cache folder to build it (minutes on a cold cache). CI runs this.
# Arguments pick routes: scripts/check-install.sh tarball path git starter (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
starter="$repo/examples/starter"
cleanup() {
  [ -n "${server:-}" ] && kill -- "-$server" 2>/dev/null || true
  rm -rf "$work" "$starter/node_modules" "$starter/package-lock.json" "$starter/sessions"
}
trap cleanup EXIT
flags=(--no-audit --no-fund --prefer-offline)
routes=" ${*:-tarball path git starter} "

app() {
  mkdir -p "$work/$1"
  echo '{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }' >"$work/$1/package.json"
}
# The package as an application uses it: its main entry, a subpath, and its bin.
check() {
  (cd "$work/$1" &&
    node --input-type=module -e "
      const { SessionManager, MemoryStore } = await import('websession');
      const { withSession } = await import('websession/node');
      if (typeof withSession !== 'function') throw new Error('no websession/node');
      const manager = new SessionManager(new MemoryStore());
      const s = await manager.load({});
      s.n = 1;
      if (!(await manager.commit(s))) throw new Error('no cookie');
    " &&
    ./node_modules/.bin/websession --version >/dev/null &&
    echo "   ok: import('websession'), websession/node and the websession bin")
}

if [[ $routes == *" tarball "* ]]; then
echo "== from a packed tarball (npm pack)"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
app tarball
(cd "$work/tarball" && npm install "${flags[@]}" "$work/$tarball" >/dev/null)
check tarball
fi

if [[ $routes == *" path "* ]]; then
echo "== from a path to a clone"
app path
(cd "$work/path" && npm install "${flags[@]}" "$repo" >/dev/null)
check path
fi

if [[ $routes == *" git "* ]]; then
echo "== from a git URL"
app git
commit=$(git rev-parse HEAD) # here, in the clone: the app's folder is no repository
(cd "$work/git" && npm install "${flags[@]}" "git+file://$repo#$commit" >/dev/null)
check git
fi

if [[ $routes == *" starter "* ]]; then
echo "== examples/starter: npm install, npm start"
(cd "$starter" && npm install "${flags[@]}" >/dev/null)
fifo="$work/starter.out"
mkfifo "$fifo"
# In a process group of its own, so that npm, tsx and node stop together.
setsid bash -c 'cd "$1" && PORT=0 exec npm start --silent' _ "$starter" >"$fifo" 2>&1 &
server=$!
url=$(grep -m 1 -o 'http://[0-9.:]*/' <"$fifo")
jar="$work/cookies"
first=$(curl -fsS -c "$jar" -b "$jar" "$url")
second=$(curl -fsS -c "$jar" -b "$jar" "$url")
[ "$first" = "visits: 1" ] && [ "$second" = "visits: 2" ] || {
  echo "starter answered \"$first\" then \"$second\"" >&2
  exit 1
}
echo "   ok: $url counted 1, 2 with its cookie"
fi
