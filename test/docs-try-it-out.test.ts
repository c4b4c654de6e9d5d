import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import t from 'tap'
import { runCli } from './support/cli-process.ts'
import { startServerProcess } from './support/server-process.ts'

/**
 * /docs as a reader uses it: a fresh `npm start`, its page in headless Chromium (Debian's, which `.ci/run`
 * installs), a token minted with the CLI pasted into "Authorize", then "Try it out" and "Execute" on a push
 * and on a read, with nothing typed but the token. The examples in the contract are what the page sends.
 */
const chromiumPath = '/usr/bin/chromium'
// The flags Chromium needs as root on a machine with a closed network: no sandbox, no calls home.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

async function tryItOut(page: Page, operation: string): Promise<{ status: number; body: string }> {
  const block = page.locator(`#operations-${operation}`)
  await block.locator('.opblock-summary').first().click()
  await block.locator('button.try-out__btn').click()
  await block.locator('button.execute').click()
  const status = block.locator('.live-responses-table tr.response .response-col_status').first()
  await status.waitFor()
  const body = (await block.locator('.live-responses-table .response-col_description pre').first().textContent()) ?? ''
  return { status: Number(/\d{3}/.exec((await status.textContent()) ?? '')?.[0]), body }
}

t.test(
  'Try it out of a push and then a read succeeds against a fresh npm start',
  { skip: !existsSync(chromiumPath) && `no ${chromiumPath}` },
  async (t) => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-docs-')), 'data')
    const server = await startServerProcess(t, { VAULT_DATA_DIR: dataDir })
    const minted = await runCli(['token', 'mint'], { VAULT_DATA_DIR: dataDir })
    t.equal(minted.code, 0, minted.stderr)
    const token = minted.stdout.trim()

    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    t.teardown(() => browser.close())
    const page = await browser.newPage()
    await page.goto(`${server.address}/docs`)

    await page.locator('button.authorize').first().click()
    const pasted = page.locator('.auth-container', { hasText: 'pastedToken' })
    await pasted.locator('input').fill(token)
    await pasted.locator('button.authorize').click()
    await pasted.locator('button.btn-done').click()

    const push = await tryItOut(page, 'token_sets-pushTokenSet')
    t.equal(push.status, 201, `the example push is stored: ${push.body}`)
    t.match(JSON.parse(push.body), { result: 'created' })

    const read = await tryItOut(page, 'token_sets-readAccessToken')
    t.equal(read.status, 200, `the example read is served: ${read.body}`)
    const contract = (await (await fetch(`${server.address}/docs/json`)).json()) as {
      paths: Record<
        string,
        { put?: { requestBody: { content: Record<string, { schema: { example: { token_response: { access_token: string } } } }> } } }
      >
    }
    const pushPath = Object.values(contract.paths).find(
      (item) => item.put?.requestBody?.content['application/json']?.schema.example?.token_response,
    )
    t.equal(
      JSON.parse(read.body).access_token,
      pushPath!.put!.requestBody.content['application/json']!.schema.example.token_response.access_token,
      "the example push's access token comes back",
    )

    // The same page without the pasted token is refused: the token, not the page, authorised the calls.
    const anonymous = await browser.newPage()
    await anonymous.goto(`${server.address}/docs`)
    const refused = await tryItOut(anonymous, 'token_sets-readAccessToken')
    t.equal(refused.status, 401)
    t.match(JSON.parse(refused.body), { code: 'auth.missing_token' })
  },
)
