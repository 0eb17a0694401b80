import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { analyseAny, analyseImage, analyseSmallJpeg } from '../../src/features/images/analyse.js'
import { CORPUS } from './corpus.js'

const MAX_PIXELS = 100_000_000

/** What an analysis comes to: its result, or the reason it refused the file. */
const outcome = (analysis: Promise<unknown>) =>
  analysis.then(
    (result) => ({ result }),
    (err: Error) => ({ refused: err.message }),
  )

test('every small JPEG of the corpus takes one decode and measures as the general path measures it', async () => {
  const jpegs = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(CORPUS, f))
    .filter((f) => /\.jpe?g$/i.test(f))
  let short = 0
  for (const file of jpegs) {
    const bytes = readFileSync(file)
    const general = await outcome(analyseAny(bytes, MAX_PIXELS))
    const fast = await analyseSmallJpeg(bytes, MAX_PIXELS)
    if (fast) {
      short++
      assert.deepEqual({ result: fast }, general, file)
    }
    assert.deepEqual(await outcome(analyseImage(bytes, MAX_PIXELS)), general, file)
  }
  // 54 of the corpus's 77 JPEGs are decodable and at most 512×512.
  assert.ok(short >= 50, `${short} of ${jpegs.length} JPEGs took the short path`)
})
