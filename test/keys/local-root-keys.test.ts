import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config.ts'
import { chooseActiveRootKey, ensureDevelopmentRootKeyFile, parseLocalRootKeys } from '../../src/keys/local-root-keys.ts'

const key32 = () => randomBytes(32).toString('base64')

t.test('parses id=base64 entries separated by commas or lines, with comments', async (t) => {
  const keys = parseLocalRootKeys(`# comment\nk1=${key32()}\n\nk2=${key32()},k3=${key32()}`, 'test')
  t.same(
    keys.map((key) => key.id),
    ['k1', 'k2', 'k3'],
  )
  t.ok(keys.every((key) => key.key.symmetricKeySize === 32))
})

t.test('a placeholder key (one byte repeated, all zeros say) is refused', async (t) => {
  for (const byte of [0, 1, 0xff]) {
    t.throws(() => parseLocalRootKeys(`replace-me=${Buffer.alloc(32, byte).toString('base64')}`, 'root-keys'), {
      message: /root key "replace-me" is a placeholder/,
    })
  }
})

t.test('a key of the wrong length is refused, and the message does not echo it', async (t) => {
  for (const bytes of [16, 31, 33, 64]) {
    const value = randomBytes(bytes).toString('base64')
    try {
      parseLocalRootKeys(`k1=${value}`, 'VAULT_LOCAL_ROOT_KEYS')
      t.fail(`${bytes} bytes accepted`)
    } catch (error) {
      t.type(error, ConfigError)
      t.match((error as Error).message, /exactly 32 bytes/)
      t.notMatch((error as Error).message, value)
    }
  }
})

t.test('malformed entries are refused', async (t) => {
  t.throws(() => parseLocalRootKeys('', 'x'), ConfigError, 'empty')
  t.throws(() => parseLocalRootKeys(key32(), 'x'), ConfigError, 'no id')
  t.throws(() => parseLocalRootKeys(`bad id=${key32()}`, 'x'), ConfigError, 'bad id')
  t.throws(() => parseLocalRootKeys(`k1=${key32().replace('=', '')}`, 'x'), ConfigError, 'no padding')
  t.throws(() => parseLocalRootKeys(`k1=${'!'.repeat(43)}=`, 'x'), ConfigError, 'not base64')
  t.throws(() => parseLocalRootKeys(`k1=${key32()},k1=${key32()}`, 'x'), { message: /appears twice/ })
})

t.test('the active key must be named when there are several, and must exist', async (t) => {
  const keys = parseLocalRootKeys(`k1=${key32()},k2=${key32()}`, 'x')
  t.throws(() => chooseActiveRootKey(keys, undefined, 'x'), { message: /VAULT_ACTIVE_ROOT_KEY_ID/ })
  t.throws(() => chooseActiveRootKey(keys, 'k9', 'x'), ConfigError)
  t.equal(chooseActiveRootKey(keys, 'k2', 'x'), 'k2')
  t.equal(chooseActiveRootKey(keys.slice(0, 1), undefined, 'x'), 'k1')
})

t.test('the development key file is generated once, private, and reused', async (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-')), 'data')
  const first = ensureDevelopmentRootKeyFile(dir)
  t.equal(first.generated, true)
  t.equal(statSync(first.file).mode & 0o777, 0o600)
  const content = readFileSync(first.file, 'utf8')
  t.equal(parseLocalRootKeys(content, first.file).length, 1)
  const second = ensureDevelopmentRootKeyFile(dir)
  t.equal(second.generated, false)
  t.equal(readFileSync(second.file, 'utf8'), content, 'not overwritten')
})
