// Builds the session store and chat lock chosen by SESSION_STORE, and the periodic sweep
// that removes expired records (sqlite, memory; Redis expires keys itself). With metrics,
// every failed store or lock call is counted, and every wait for the chat lock timed.
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError, type Config } from '../config.js'
import type { CozeClient } from '../coze/client.js'
import { GatewayError } from '../errors.js'
import type { Metrics } from '../metrics/metrics.js'
import { LocalLock } from './local-lock.js'
import { MemorySessionStore } from './memory-store.js'
import { SqliteSessionStore } from './sqlite-store.js'
import { ChatQueue } from './queue.js'
import { SessionService } from './service.js'
import type { ChatLock, SessionStore } from './types.js'

export { SessionService } from './service.js'
export { ChatQueue } from './queue.js'
export type { SessionRecord, SessionStore, ChatLock } from './types.js'

export interface Sessions {
  service: SessionService
  queue: ChatQueue
  close (): Promise<void>
}

export async function createSessions (config: Config, coze: CozeClient, log: FastifyBaseLogger, metrics?: Metrics): Promise<Sessions> {
  let store: SessionStore
  let lock: ChatLock
  switch (config.SESSION_STORE) {
    case 'redis': {
      if (!config.REDIS_URL) throw new Error('SESSION_STORE=redis needs REDIS_URL (e.g. redis://localhost:6379/0)')
      // Loaded only for this store: ioredis costs start-up time the other stores don't need.
      const [{ Redis }, { RedisSessionStore }, { RedisLock }] = await Promise.all([
        import('ioredis'), import('./redis-store.js'), import('./redis-lock.js')
      ])
      const redis = new Redis(config.REDIS_URL, {
        // Fail calls quickly when Redis is down (→ 503) instead of queueing them for ever.
        maxRetriesPerRequest: 2,
        connectTimeout: 5000,
        enableAutoPipelining: true
      })
      let lastLogged = 0
      redis.on('error', (err: Error) => {
        if (Date.now() - lastLogged < 10_000) return
        lastLogged = Date.now()
        log.error({ err: err.message }, 'redis connection error')
      })
      store = new RedisSessionStore(redis, config.REDIS_KEY_PREFIX)
      lock = new RedisLock(redis, {
        prefix: config.REDIS_KEY_PREFIX,
        onError: (err, what) => {
          metrics?.storeError('redis', what.replace(' ', '_'))
          log.warn({ err }, `redis ${what} failed`)
        }
      })
      break
    }
    case 'memory':
      store = new MemorySessionStore()
      lock = new LocalLock()
      break
    default:
      store = openSqlite(config.SESSION_DB_PATH, (err) => {
        metrics?.storeError('sqlite', 'claim_conversation')
        log.warn({ err }, 'writing the owners of new conversations failed; tried again on the next chat')
      })
      lock = new LocalLock()
  }

  if (metrics) {
    const kind = store.kind
    store = counting(store, STORE_OPS, (op) => metrics.storeError(kind, op))
    lock = counting(lock, ['acquire'], () => metrics.storeError(kind, 'lock_acquire'),
      (err) => err instanceof GatewayError && err.code === 'SESSION_STORE_UNAVAILABLE')
  }
  const queue = new ChatQueue(lock, config.CHAT_QUEUE_TIMEOUT_MS, metrics && ((ms) => metrics.queued(ms)))
  const service = new SessionService(store, queue, coze, {
    sessionTtlMs: config.SESSION_TTL * 1000,
    ownerTtlMs: config.CONVERSATION_OWNER_TTL * 1000,
    log
  })

  // A quarter of the TTL, between 1 s and 60 s: an expired record lives on disk at most that long.
  const sweepMs = Math.min(60_000, Math.max(1000, Math.floor(config.SESSION_TTL * 1000 / 4)))
  const sweeper = store.kind === 'redis'
    ? undefined
    : setInterval(() => {
      store.sweep().then((n) => { if (n > 0) log.debug({ removed: n }, 'expired sessions removed') },
        (err: unknown) => log.warn({ err }, 'session sweep failed'))
    }, sweepMs)
  sweeper?.unref()

  return {
    service,
    queue,
    async close () {
      clearInterval(sweeper)
      await queue.close()
      await store.close()
    }
  }
}

const STORE_OPS = ['get', 'create', 'update', 'countTurn', 'delete', 'listByUser', 'getConversationOwner', 'claimConversation', 'flush', 'sweep', 'ping'] as const

/** `target` with each of `ops` counting its failures, under the op's snake_case name. */
function counting<T extends object> (target: T, ops: ReadonlyArray<keyof T & string>, count: (op: string) => void, isFailure: (err: unknown) => boolean = () => true): T {
  const wrapped = Object.create(target) as Record<string, unknown>
  for (const op of ops) {
    const fn = (target[op] as (...args: unknown[]) => Promise<unknown>).bind(target)
    const name = op.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    wrapped[op] = async (...args: unknown[]) => {
      try {
        return await fn(...args)
      } catch (err) {
        if (isFailure(err)) count(name)
        throw err
      }
    }
  }
  return wrapped as T
}

/** The sqlite store, or one line that names the variable and the path (not a stack trace). */
function openSqlite (path: string, onWriteError: (err: unknown) => void): SqliteSessionStore {
  try {
    return new SqliteSessionStore(path, { onWriteError })
  } catch (err) {
    throw sqliteOpenError(path, err)
  }
}

/** What to fix when the session database does not open: the file, or better-sqlite3's native module. */
export function sqliteOpenError (path: string, err: unknown): ConfigError {
  const e = err as NodeJS.ErrnoException
  // An interrupted `npm install`, or a Node upgrade since it ran, leaves no usable binary.
  if (e.code === 'ERR_DLOPEN_FAILED' || e.message.startsWith('Could not locate the bindings file')) {
    return new ConfigError('Invalid configuration: SESSION_STORE=sqlite: better-sqlite3\'s native module does not load ' +
      `in Node ${process.version} (${e.message.split('\n')[0]!.replace(/ Tried:$/, '')}). ` +
      'Run `npm rebuild better-sqlite3` (or `npm install` again), or set SESSION_STORE=memory or redis.')
  }
  const why = e.code && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : e.message
  return new ConfigError(`Invalid configuration: SESSION_DB_PATH: cannot open the session database ${JSON.stringify(path)} (${why}). ` +
    'Point SESSION_DB_PATH at a file in a folder the gateway can write (in Docker: a volume writable by the node user), or set SESSION_STORE=memory.')
}
