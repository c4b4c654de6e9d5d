// The load generator, run in its own process so it does not share an event loop with either server.
// Usage: node bench/load.ts <base-url> <push|read> <seconds> <connections> <users>
// BENCH_TOKEN, when set, is sent as the bearer token (the baseline ignores it).
import autocannon from 'autocannon'

const [baseUrl, kind, seconds, connections, users] = process.argv.slice(2)
const userCount = Number(users)
let counter = 0
const auth: Record<string, string> = process.env.BENCH_TOKEN ? { authorization: `Bearer ${process.env.BENCH_TOKEN}` } : {}

function nextUser(): string {
  counter = (counter + 1) % userCount
  return `u${counter}`
}

const result = await autocannon({
  url: baseUrl!,
  duration: Number(seconds),
  connections: Number(connections),
  requests: [
    {
      method: kind === 'push' ? 'PUT' : 'GET',
      setupRequest: (request) => {
        const user = nextUser()
        const path = `/v1/tenants/bench/users/${user}/connections/social/github/${kind === 'push' ? 'token-set' : 'access-token'}`
        if (kind !== 'push') return { ...request, path, headers: auth }
        return {
          ...request,
          path,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({
            target: 'github',
            provider_subject: user,
            token_response: {
              access_token: `gho_${user}_${Date.now()}_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`,
              refresh_token: `ghr_${user}_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`,
              token_type: 'bearer',
              scope: 'repo,read:user',
              expires_in: 28800,
            },
          }),
        }
      },
    },
  ],
})
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  })}\n`,
)
