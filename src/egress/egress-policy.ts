import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type Socket } from 'node:net'
import { Agent, buildConnector, fetch as undiciFetch } from 'undici'
import { VaultError } from '../errors.ts'

/**
 * One egress policy for every outbound call the vault makes with a secret or for one (token endpoints,
 * discovery, and the revocation and webhook calls to come). The vault holds refresh tokens and client
 * secrets for other people's authorization servers; a URL that points it at an internal address (the cloud
 * metadata service, a database, a sidecar) would turn it into a proxy into the network it runs in.
 *
 * Two checks, one rule set:
 * - at registration, the URL itself: https, no user info, a host that is neither an internal name nor an
 *   address in a refused range (the WHATWG URL parser already normalises 2130706433 and 0x7f.1 to 127.0.0.1);
 * - at connect time, every address the name resolves to, before connecting, and the address the socket
 *   actually connected to, after: a DNS answer that changes between registration and use cannot get through.
 *
 * Nothing is allowed by default. VAULT_EGRESS_ALLOW names hosts or address ranges the operator trusts
 * (development and tests list their loopback servers there).
 */
export type EgressRule =
  | 'scheme'
  | 'userinfo'
  | 'internal_name'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'unique_local'
  | 'carrier_grade_nat'
  | 'reserved'
  | 'unresolvable'

/** Refused ranges, by the rule that names them. IPv4-mapped and NAT64 IPv6 addresses are checked as IPv4. */
const RANGES: Array<[EgressRule, 'ipv4' | 'ipv6', string, number]> = [
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['loopback', 'ipv6', '::1', 128],
  ['reserved', 'ipv4', '0.0.0.0', 8],
  ['reserved', 'ipv6', '::', 128],
  ['private', 'ipv4', '10.0.0.0', 8],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['private', 'ipv4', '192.168.0.0', 16],
  ['carrier_grade_nat', 'ipv4', '100.64.0.0', 10],
  // 169.254.169.254 (AWS, GCP, Azure metadata) lives here.
  ['link_local', 'ipv4', '169.254.0.0', 16],
  ['link_local', 'ipv6', 'fe80::', 10],
  // fd00:ec2::254 (the AWS metadata service over IPv6) lives here.
  ['unique_local', 'ipv6', 'fc00::', 7],
  ['reserved', 'ipv4', '192.0.0.0', 24],
  ['reserved', 'ipv4', '192.0.2.0', 24],
  ['reserved', 'ipv4', '198.18.0.0', 15],
  ['reserved', 'ipv4', '198.51.100.0', 24],
  ['reserved', 'ipv4', '203.0.113.0', 24],
  ['reserved', 'ipv4', '224.0.0.0', 4],
  ['reserved', 'ipv4', '240.0.0.0', 4],
  ['reserved', 'ipv6', 'ff00::', 8],
  ['reserved', 'ipv6', '2001:db8::', 32],
  ['reserved', 'ipv6', '100::', 64],
]
const blocked = new Map<EgressRule, BlockList>()
for (const [rule, family, network, prefix] of RANGES) {
  if (!blocked.has(rule)) blocked.set(rule, new BlockList())
  blocked.get(rule)!.addSubnet(network, prefix, family)
}

/** Names that are internal by construction: never a public authorization server. */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|localdomain|svc|cluster\.local|home\.arpa)$/i

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, or NAT64 64:ff9b::a.b.c.d), if any. */
function embeddedIpv4(address: string): string | undefined {
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hex === null) return undefined
  const high = Number.parseInt(hex[1]!, 16)
  const low = Number.parseInt(hex[2]!, 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

/** The rule an address falls under, or undefined for a public address. */
export function addressRule(address: string): EgressRule | undefined {
  const bare = address.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  if (family === 0) return 'unresolvable'
  const v4 = family === 6 ? embeddedIpv4(bare) : bare
  for (const [rule, list] of blocked) {
    if (v4 !== undefined ? list.check(v4, 'ipv4') : list.check(bare, 'ipv6')) return rule
  }
  return undefined
}

export class EgressRefused extends Error {
  readonly rule: EgressRule
  readonly code = 'EGRESS_REFUSED'
  constructor(rule: EgressRule) {
    super(`refused by the egress policy (${rule})`)
    this.rule = rule
  }
}

export interface EgressPolicyOptions {
  /** Hosts (exact names) and addresses or CIDR ranges the operator trusts despite the rules. */
  allow: readonly string[]
  /** Plain http (development only; VAULT_REFRESH_ALLOW_INSECURE_HTTP). */
  allowInsecureHttp: boolean
  /** How names are resolved (tests stub it; nothing is ever sent off the machine). */
  lookup?: (hostname: string, done: (error: Error | null, addresses: LookupAddress[]) => void) => void
  /** Per-connection timeout. */
  connectTimeoutMs?: number
}

export interface EgressPolicy {
  /** The rule a URL breaks, before any connection: for registration (400) and before every call. */
  urlRule(url: string): EgressRule | undefined
  /** Throws request.invalid naming `field` and the rule, when the URL breaks one. */
  requireAllowed(url: string | undefined, field: string): void
  /** fetch whose connections go only where the policy admits; a refusal rejects with EgressRefused as cause. */
  fetch: typeof fetch
  close(): Promise<void>
}

function parseAllow(entries: readonly string[]): { hosts: Set<string>; ranges: BlockList } {
  const hosts = new Set<string>()
  const ranges = new BlockList()
  for (const entry of entries) {
    const [network, prefix] = entry.split('/')
    const family = isIP(network!)
    if (family === 0) {
      hosts.add(entry.toLowerCase())
      continue
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) ranges.addAddress(network!, type)
    else ranges.addSubnet(network!, Number(prefix), type)
  }
  return { hosts, ranges }
}

export function createEgressPolicy(options: EgressPolicyOptions): EgressPolicy {
  const allow = parseAllow(options.allow)
  const allowedAddress = (address: string) => {
    const bare = address.replace(/^\[|\]$/g, '')
    const family = isIP(bare)
    return family !== 0 && allow.ranges.check(bare, family === 4 ? 'ipv4' : 'ipv6')
  }
  const resolve =
    options.lookup ??
    ((hostname: string, done: (error: Error | null, addresses: LookupAddress[]) => void) =>
      dnsLookup(hostname, { all: true, verbatim: true }, done))

  function urlRule(raw: string): EgressRule | undefined {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return 'unresolvable'
    }
    if (url.protocol !== 'https:' && !(options.allowInsecureHttp && url.protocol === 'http:')) return 'scheme'
    if (url.username !== '' || url.password !== '') return 'userinfo'
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
    if (allow.hosts.has(host) || allowedAddress(host)) return undefined
    if (isIP(host) !== 0) return addressRule(host)
    // A single label (redis, vault, metadata) is a cluster or search-domain name, never a public server.
    if (!host.includes('.') || INTERNAL_NAME.test(host)) return 'internal_name'
    return undefined
  }

  /** Resolves, keeps only admitted addresses, and refuses when none is left. */
  function lookup(
    hostname: string,
    lookupOptions: { all?: boolean; family?: number },
    done: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void {
    resolve(hostname, (error, addresses) => {
      if (error !== null) return done(error, [])
      const trusted = allow.hosts.has(hostname.toLowerCase())
      const admitted = addresses.filter((a) => trusted || allowedAddress(a.address) || addressRule(a.address) === undefined)
      if (admitted.length === 0) {
        const rule = addresses.length === 0 ? 'unresolvable' : (addressRule(addresses[0]!.address) ?? 'unresolvable')
        return done(new EgressRefused(rule), [])
      }
      if (lookupOptions.all === true) return done(null, admitted)
      done(null, admitted[0]!.address, admitted[0]!.family)
    })
  }

  const connect = buildConnector({ lookup: lookup as never, timeout: options.connectTimeoutMs ?? 10_000 })
  const agent = new Agent({
    connect: (connectOptions, done) => {
      const hostname = connectOptions.hostname.replace(/^\[|\]$/g, '')
      // An address in the URL is never looked up: it is checked as it is.
      if (isIP(hostname) !== 0 && !allowedAddress(hostname)) {
        const rule = addressRule(hostname)
        if (rule !== undefined) return done(new EgressRefused(rule), null)
      }
      return connect(connectOptions, (error, socket) => {
        if (error !== null) return done(error, null)
        // The address actually connected to, whatever resolved it.
        const remote = (socket as Socket).remoteAddress ?? ''
        const trusted = allow.hosts.has(hostname.toLowerCase()) || allowedAddress(remote)
        const rule = trusted ? undefined : addressRule(remote)
        if (rule !== undefined) {
          socket.destroy()
          return done(new EgressRefused(rule), null)
        }
        done(null, socket)
      })
    },
  })

  return {
    urlRule,
    requireAllowed(url, field) {
      if (url === undefined) return
      const rule = urlRule(url)
      if (rule === undefined) return
      throw new VaultError('egress.refused', 'The vault does not send secrets to this address', {
        issues: [{ path: field, message: `refused by the egress policy: ${rule}` }],
      })
    },
    fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
      undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch,
    close: () => agent.close(),
  }
}

/** Whether an error came from the egress policy (fetch wraps the connector's error as its cause). */
export function egressRefusal(error: unknown): EgressRefused | undefined {
  for (let cause: unknown = error; cause !== undefined && cause !== null; cause = (cause as { cause?: unknown }).cause) {
    if (cause instanceof EgressRefused) return cause
  }
  return undefined
}
