# web.py's own DiskStore under the same handler as bench/run.ts (read `count`, add one, store
# it, answer the number), for the "web.py DiskStore" row. Debian: apt-get install python3-webpy.
#   /usr/bin/python3 bench/webpy_counter.py PORT SESSION_DIR
import sys

import web

web.config.debug = False
urls = ("/", "Count", "/visit", "Visit")
app = web.application(urls, globals())
session = web.session.Session(app, web.session.DiskStore(sys.argv[2]), initializer={})


class Count:
    def GET(self):
        n = session.get("count", 0) + 1
        session.count = n
        return str(n)


class Visit:
    def GET(self):
        return str(session.get("count", 0))


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "127.0.0.1:" + sys.argv[1]]
    app.run()
