// TRUST_PROXY → the function that says which hops of a request's address chain are
// proxies the gateway trusts (Fastify's trustProxy, and the per-IP connection cap).
// Fastify 5.12 turns a bare hop count into "trust nothing" (it cannot check the peer);
// the gateway gives the documented meaning back: the n nearest hops are proxies.
import proxyAddr from '@fastify/proxy-addr'

export type TrustFn = (addr: string, hop: number) => boolean

export interface TrustProxy {
  /** false: no proxy; the socket address is the client. */
  fn: TrustFn | false
  /** What a start-up warning should say about this setting, if anything. */
  warning?: string
}

/** Parses TRUST_PROXY. Throws an Error whose message says what is allowed. */
export function parseTrustProxy (value: string): TrustProxy {
  const v = value.trim()
  if (v === 'false' || v === '' || v === '0') return { fn: false }
  if (v === 'true') {
    return {
      fn: () => true,
      warning: 'TRUST_PROXY=true trusts every X-Forwarded-For entry: any client can choose its IP (and so its rate-limit bucket and connection cap). ' +
        'Set TRUST_PROXY to the address of your proxy instead, e.g. TRUST_PROXY=10.0.0.5 or 10.0.0.0/8 or loopback.'
    }
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v)
    return {
      fn: (_addr, hop) => hop < hops,
      warning: `TRUST_PROXY=${hops} trusts the ${hops} nearest hop(s) whatever their address: a client that reaches the gateway without the proxy can choose its IP. ` +
        'Prefer the proxy\'s address (e.g. TRUST_PROXY=10.0.0.5), or make sure only the proxy can reach the gateway.'
    }
  }
  const list = v.split(',').map((s) => s.trim()).filter(Boolean)
  try {
    return { fn: proxyAddr.compile(list) }
  } catch (err) {
    throw new Error(`${(err as Error).message}. Use false, true, a hop count (1), or comma-separated proxy addresses/CIDRs (10.0.0.5,10.1.0.0/16, loopback, linklocal, uniquelocal)`)
  }
}
