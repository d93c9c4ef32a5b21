import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { checkSharedStore } from '../helpers/example-process.js';
import { dropPrefix, redisUrlWith } from '../helpers/redis.js';
import { REDIS_URL, serverSkip } from '../helpers/servers.js';

const skip = await serverSkip('redis', REDIS_URL, 6379);

it('two example processes share one Redis', { skip }, async () => {
  const prefix = `wstest:${randomBytes(4).toString('hex')}:mp:`;
  try {
    await checkSharedStore(redisUrlWith(`prefix=${prefix}`), assert);
  } finally {
    await dropPrefix(prefix);
  }
});
