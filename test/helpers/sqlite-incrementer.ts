// Child process of test/stores/sqlite.test.ts: increments one row N times through DBStore.
import Database from 'better-sqlite3';
import { DBStore } from 'websession';

const [file, table, key, n] = process.argv.slice(2);
const store = new DBStore(new Database(file!), table!, { closeDatabase: true });
await store.get(key!);
process.stdout.write('ready\n');
for (let i = 0; i < Number(n); i++) {
  await store.update(key!, (cur) => ({
    data: String(Number(cur?.data ?? 0) + 1),
    atime: Date.now(),
  }));
  await new Promise((resolve) => setImmediate(resolve));
}
await store.close();
