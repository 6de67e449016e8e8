/**
 * Redis connection options from a URL: `redis://[[user]:password@]host[:port][/db]`, or
 * `rediss://` for TLS. Every BullMQ object of the queue executor connects through here.
 * @module
 */
import type { RedisOptions } from 'ioredis';
import { describeValue } from '../../util/validate.js';

/**
 * Parses a Redis URL into ioredis options fit for BullMQ (`maxRetriesPerRequest: null`: a
 * command waits for a reconnect instead of failing while Redis restarts).
 * @throws TypeError for a non-string, RangeError for a URL that is not redis:// or rediss://
 */
export function redisOptions(url: unknown, name = 'queueUrl'): RedisOptions {
  if (typeof url !== 'string') throw new TypeError(`Expected a redis:// URL for ${name} but received ${describeValue(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`Expected a redis:// or rediss:// URL for ${name} but received "${url}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RangeError(`Expected a redis:// or rediss:// URL for ${name} but received "${url}" (protocol ${parsed.protocol})`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new RangeError(`Expected a database number after the host in ${name} but received "/${db}"`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const options: RedisOptions = {
    host,
    port: parsed.port ? Number(parsed.port) : 6379,
    maxRetriesPerRequest: null,
    // Keep trying while Redis restarts: 50 ms, 100 ms ... at most 2 s apart.
    retryStrategy: (times) => Math.min(times * 50, 2000),
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (db !== '') options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
