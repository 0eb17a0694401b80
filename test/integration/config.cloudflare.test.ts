import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config.js'

const CF = {
  IMAGE_PROVIDER: 'cloudflare',
  CF_ACCOUNT_ID: '023e105f4ecef8ad9ca31a8372d0c353',
  CF_ACCOUNT_HASH: 'Vi7wi5KSItxGFsWRG2Us6Q',
  CF_API_TOKEN: 'cf-token-with-images-edit',
}

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

describe('IMAGE_PROVIDER=cloudflare configuration', () => {
  it('reads the account, delivery hash, token and API base (default Cloudflare)', () => {
    const config = loadConfig(CF)
    assert.equal(config.imageProvider, 'cloudflare')
    assert.deepEqual(config.cloudflare, {
      accountId: CF.CF_ACCOUNT_ID,
      accountHash: CF.CF_ACCOUNT_HASH,
      apiToken: CF.CF_API_TOKEN,
      apiBase: 'https://api.cloudflare.com/client/v4',
    })
    assert.equal(
      loadConfig({ ...CF, CF_API_BASE: 'http://127.0.0.1:9/client/v4/' }).cloudflare?.apiBase,
      'http://127.0.0.1:9/client/v4',
    )
  })

  it('names every missing variable at once', () => {
    const found = problems({ IMAGE_PROVIDER: 'cloudflare' })
    for (const name of ['CF_ACCOUNT_ID', 'CF_ACCOUNT_HASH', 'CF_API_TOKEN'])
      assert.ok(
        found.some((p) => p.startsWith(`${name} is required when IMAGE_PROVIDER=cloudflare`)),
        `${name} missing from ${JSON.stringify(found)}`,
      )
    assert.equal(found.length, 3)
  })

  it('refuses malformed values, naming the variable', () => {
    const found = problems({ ...CF, CF_ACCOUNT_ID: 'not-an-account', CF_API_BASE: 'ftp://x' })
    assert.equal(found.length, 2)
    assert.match(
      found[0]!,
      /^CF_ACCOUNT_ID="not-an-account" is invalid: expected the 32-character hex account id/,
    )
    assert.match(found[1]!, /^CF_API_BASE="ftp:\/\/x" is invalid/)
  })

  it('ignores the Cloudflare variables with the local provider', () => {
    const config = loadConfig({ CF_ACCOUNT_ID: 'whatever' })
    assert.equal(config.imageProvider, 'local')
    assert.equal(config.cloudflare, null)
  })
})
