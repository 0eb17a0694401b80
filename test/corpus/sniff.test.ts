import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { SNIFF_BYTES, sniffMime } from '../../src/features/files/sniff.js'
import { PROVISIONABLE_MIMES } from '../../src/features/images/provisioning.js'
import { CORPUS } from './corpus.js'

interface SurveyEntry {
  file: string
  sniff: string
}

/** Every corpus file with the type the survey measured (file-type on the whole file). */
function survey(): { dir: string; entry: SurveyEntry }[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readFileSync(path.join(CORPUS, d.name, 'survey.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => ({ dir: d.name, entry: JSON.parse(line) as SurveyEntry })),
    )
}

test('the sniffer agrees with the corpus survey, from the head of each file as an upload sees it', async () => {
  const entries = survey()
  assert.ok(entries.length > 400, 'the whole corpus is surveyed')
  const disagreements: string[] = []
  let rasters = 0
  for (const { dir, entry } of entries) {
    const bytes = readFileSync(path.join(CORPUS, dir, entry.file))
    const mime = await sniffMime(bytes.subarray(0, SNIFF_BYTES))
    const surveyed = entry.sniff === 'none' ? 'application/octet-stream' : entry.sniff
    if (PROVISIONABLE_MIMES.has(surveyed)) rasters++
    // file-type alone calls SVG application/xml (or nothing); API.md's markup rule makes it image/svg+xml.
    const expected = entry.file.toLowerCase().endsWith('.svg') ? 'image/svg+xml' : surveyed
    if (mime !== expected) disagreements.push(`${dir}/${entry.file}: survey ${surveyed}, sniffed ${mime}`)
  }
  assert.ok(rasters > 300, 'the raster images are among them')
  assert.deepEqual(disagreements, [])
})
