import assert from 'node:assert/strict'
import { test } from 'node:test'
import { storageFailure } from '../../src/shared/storage-failure.js'

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code })

test('a full disk, a quota, SQLite and PostgreSQL out of room are insufficient_storage, with the cause kept', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']) {
    const err = withCode(code)
    const mapped = storageFailure(err)
    assert.equal(mapped?.code, 'insufficient_storage', code)
    assert.equal(mapped?.status, 507)
    assert.equal(mapped?.cause, err, 'the original error stays for the log')
    assert.doesNotMatch(mapped!.message, new RegExp(code), 'the answer does not name it')
  }
})

test('a failing disk is unavailable; a wrapped cause is found; anything else is not a storage failure', () => {
  assert.equal(storageFailure(withCode('EIO'))?.code, 'unavailable')
  assert.equal(storageFailure(withCode('SQLITE_IOERR_WRITE'))?.code, 'unavailable')
  assert.equal(storageFailure(withCode('EROFS'))?.details?.retryAfter, 5)
  const wrapped = new Error('upload failed', { cause: withCode('ENOSPC') })
  assert.equal(storageFailure(wrapped)?.code, 'insufficient_storage')
  for (const other of [
    withCode('ENOENT'),
    withCode('SQLITE_CONSTRAINT_UNIQUE'),
    new Error('x'),
    null,
    'ENOSPC',
  ])
    assert.equal(storageFailure(other), null, String(other))
})
