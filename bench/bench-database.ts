import pg from 'pg'

/**
 * A benchmark's own database on the server BENCH_DATABASE_URL names (default: the local PostgreSQL as
 * postgres), which it creates and drops through `admin`.
 */
export function benchDatabase(name: string) {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  return {
    adminUrl,
    url: Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString(),
    /** Runs one statement on the server's admin database (CREATE / DROP DATABASE). */
    async admin(query: string): Promise<void> {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        await client.query(query)
      } finally {
        await client.end()
      }
    },
  }
}
