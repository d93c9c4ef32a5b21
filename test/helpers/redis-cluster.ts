// A Redis Cluster of the test's own: N private redis-servers (never the shared Redis), each a
// master holding an even share of the 16384 slots, ready when every node reports
// cluster_state:ok and knows every node's slots.
import { Redis } from 'ioredis';
import { freePort } from './example-process.js';
import { PrivateRedis } from './redis.js';

export interface PrivateCluster {
  nodes: PrivateRedis[];
  /** One admin connection per node (plain clients, not Cluster clients), same order as `nodes`. */
  admins: Redis[];
  /** The slot ranges `[first, last]` each node serves, same order as `nodes`. */
  ranges: [number, number][];
  /** The first node's URL: the seed a Cluster client starts from. */
  url: string;
  /** Index in `nodes` of the master serving `slot` (as `moveSlot` left it). */
  nodeOfSlot(slot: number): number;
  /**
   * Reshards one slot to node `to` as redis-cli does (IMPORTING / MIGRATING, MIGRATE of its
   * keys, SETSLOT NODE on every node), behind the back of any Cluster client: a client's
   * cached slot map is stale afterwards, and its next command on the slot gets MOVED.
   */
  moveSlot(slot: number, to: number): Promise<void>;
  /** Closes the admin connections, kills every server and removes its folder. */
  destroy(): Promise<void>;
}

const SLOTS = 16384;

/** Two free ports per node, all distinct: the client port and the cluster bus port. */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts a cluster of `masters` nodes. The bus port is set explicitly (`--cluster-port`): the
 * default, port + 10000, does not exist for a client port above 55535 (redis-server then exits
 * at start), and may be taken by another process.
 */
export async function startRedisCluster(masters: number): Promise<PrivateCluster> {
  const ports = await distinctPorts(2 * masters);
  const nodes: PrivateRedis[] = [];
  const admins: Redis[] = [];
  const ranges: [number, number][] = [];
  for (let i = 0; i < masters; i++) {
    const first = Math.floor((i * SLOTS) / masters);
    const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
    ranges.push([first, last]);
  }
  const destroy = async () => {
    for (const admin of admins) admin.disconnect();
    await Promise.all(nodes.map((node) => node.destroy()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const node = new PrivateRedis([
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(ports[masters + i]),
        '--cluster-announce-ip',
        '127.0.0.1',
        '--appendonly',
        'no',
      ]);
      node.port = ports[i]!;
      nodes.push(node);
    }
    await Promise.all(nodes.map((node) => node.start()));
    for (const node of nodes) admins.push(new Redis(node.url));
    // Distinct config epochs up front (as redis-cli --cluster create does), so the nodes need
    // not resolve an epoch collision before the slot map settles.
    for (const [i, admin] of admins.entries())
      await admin.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
    for (let i = 1; i < masters; i++)
      await admins[i]!.call(
        'CLUSTER',
        'MEET',
        '127.0.0.1',
        String(ports[0]),
        String(ports[masters]),
      );
    for (const [i, admin] of admins.entries()) {
      const [first, last] = ranges[i]!;
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }
    await waitForCluster(admins, masters);
  } catch (err) {
    await destroy();
    throw err;
  }
  const moved = new Map<number, number>();
  const nodeOfSlot = (slot: number) =>
    moved.get(slot) ?? ranges.findIndex(([first, last]) => slot >= first && slot <= last);
  const moveSlot = async (slot: number, to: number) => {
    const from = nodeOfSlot(slot);
    if (from === to) return;
    const ids = (await Promise.all(admins.map((a) => a.call('CLUSTER', 'MYID')))).map(String);
    const s = String(slot);
    await admins[to]!.call('CLUSTER', 'SETSLOT', s, 'IMPORTING', ids[from]!);
    await admins[from]!.call('CLUSTER', 'SETSLOT', s, 'MIGRATING', ids[to]!);
    for (;;) {
      const keys = (await admins[from]!.call('CLUSTER', 'GETKEYSINSLOT', s, '100')) as string[];
      if (keys.length === 0) break;
      await admins[from]!.call(
        'MIGRATE',
        '127.0.0.1',
        String(nodes[to]!.port),
        '',
        '0',
        '5000',
        'KEYS',
        ...keys,
      );
    }
    // The new owner first, then the old one, then the rest (as redis-cli does).
    for (const i of [to, from, ...admins.keys()].filter((i, n, all) => all.indexOf(i) === n))
      await admins[i]!.call('CLUSTER', 'SETSLOT', s, 'NODE', ids[to]!);
    moved.set(slot, to);
  };
  return { nodes, admins, ranges, url: nodes[0]!.url, nodeOfSlot, moveSlot, destroy };
}

/** Polls until every node says cluster_state:ok, knows `masters` nodes and serves `masters` slot ranges. */
async function waitForCluster(admins: Redis[], masters: number): Promise<void> {
  let last = '';
  for (let i = 0; i < 300; i++) {
    const states = await Promise.all(
      admins.map(async (admin) => {
        const info = String(await admin.call('CLUSTER', 'INFO'));
        const slots = (await admin.call('CLUSTER', 'SLOTS')) as unknown[];
        return {
          ok: info.includes('cluster_state:ok'),
          known: Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1]),
          ranges: slots.length,
        };
      }),
    );
    if (states.every((s) => s.ok && s.known === masters && s.ranges === masters)) return;
    last = JSON.stringify(states);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Redis Cluster of ${masters} did not settle: ${last}`);
}
