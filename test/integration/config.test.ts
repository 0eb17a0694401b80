import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config.js'

const configError = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env)
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`)
}

describe('config', () => {
  test('defaults: everything is optional on the embedded setup', () => {
    const c = loadConfig({})
    assert.equal(c.port, 8787)
    assert.equal(c.host, '127.0.0.1')
    assert.equal(c.dataDir, path.resolve('./data'))
    assert.deepEqual(c.db, { driver: 'sqlite', file: path.resolve('./data/pictura.db') })
    assert.equal(c.publicUrl, 'http://127.0.0.1:8787')
    assert.equal(c.maxUploadBytes, 100 * 1024 * 1024)
    assert.equal(c.imageProvider, 'local')
    assert.equal(c.blobStore, 'fs')
    assert.equal(c.bootstrapAdminToken, null)
    assert.equal(c.logLevel, 'info')
    assert.equal(c.rateLimitPerMinute, 6000)
    assert.equal(c.exifGps, false)
    assert.deepEqual(c.corsOrigins, [])
    assert.equal(c.maxImagePixels, 100_000_000)
    assert.equal(c.dbConnectTimeoutMs, 5000)
    assert.equal(c.dbStatementTimeoutMs, 5000)
    assert.ok(c.dbStartupWaitMs >= 60_000, 'a database down at start is waited for a minute at least')
    assert.ok(Object.isFrozen(c))
  })

  test('values are read and typed', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/pictura-x',
      DATABASE_URL: 'postgres://u:p@db:5432/pictura',
      PUBLIC_URL: 'https://img.example.com/',
      MAX_UPLOAD_BYTES: '1024',
      LOG_LEVEL: 'debug',
      RATE_LIMIT_PER_MINUTE: '0',
      EXIF_GPS: 'true',
      CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
      MAX_IMAGE_PIXELS: '5000',
      DB_CONNECT_TIMEOUT_MS: '2000',
      DB_STATEMENT_TIMEOUT_MS: '3000',
      DB_STARTUP_WAIT_MS: '0',
    })
    assert.equal(c.port, 9000)
    assert.equal(c.host, '0.0.0.0')
    assert.deepEqual(c.db, { driver: 'postgres', url: 'postgres://u:p@db:5432/pictura' })
    assert.equal(c.publicUrl, 'https://img.example.com')
    assert.equal(c.maxUploadBytes, 1024)
    assert.equal(c.logLevel, 'debug')
    assert.equal(c.rateLimitPerMinute, 0)
    assert.equal(c.exifGps, true)
    assert.deepEqual(c.corsOrigins, ['https://a.example.com', 'https://b.example.com'])
    assert.equal(c.maxImagePixels, 5000)
    assert.equal(c.dbConnectTimeoutMs, 2000)
    assert.equal(c.dbStatementTimeoutMs, 3000)
    assert.equal(c.dbStartupWaitMs, 0)
  })

  test('bad values throw one ConfigError naming every variable at once', () => {
    const err = configError({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      EXIF_GPS: 'maybe',
      MAX_UPLOAD_BYTES: '-1',
      DATABASE_URL: 'mysql://x',
    })
    assert.equal(err.problems.length, 5, err.message)
    for (const name of ['PORT', 'LOG_LEVEL', 'EXIF_GPS', 'MAX_UPLOAD_BYTES', 'DATABASE_URL']) {
      assert.ok(
        err.problems.some((p) => p.startsWith(`${name}=`)),
        `${name} is named: ${err.message}`,
      )
      assert.match(err.message, new RegExp(`\\b${name}=`))
    }
    assert.match(err.message, /"abc"/)
    assert.match(err.message, /"loud"/)
  })

  const single: [string, string][] = [
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['PUBLIC_URL', 'ftp://example.com'],
    ['PUBLIC_URL', 'not a url'],
    ['MAX_UPLOAD_BYTES', '0'],
    ['RATE_LIMIT_PER_MINUTE', '-5'],
    ['CORS_ORIGINS', 'https://ok.example.com,javascript:alert(1)'],
    ['MAX_IMAGE_PIXELS', 'lots'],
    ['IMAGE_PROVIDER', 'imgix'],
    ['BLOB_STORE', 'ftp'],
    ['BOOTSTRAP_ADMIN_TOKEN', 'hunter2'],
    ['API_PROCESSES', '0'],
    ['DB_CONNECT_TIMEOUT_MS', '0'],
    ['DB_STATEMENT_TIMEOUT_MS', '5s'],
    ['DB_STARTUP_WAIT_MS', '-1'],
  ]
  for (const [name, value] of single) {
    test(`${name}=${value} is refused with a message naming ${name}`, () => {
      const err = configError({ [name]: value })
      assert.equal(err.problems.length, 1, err.message)
      assert.ok(err.problems[0]!.startsWith(`${name}=`), err.message)
    })
  }

  test('an empty value means the default', () => {
    assert.equal(loadConfig({ PORT: '', LOG_LEVEL: ' ' }).port, 8787)
  })
})
