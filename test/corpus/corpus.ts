import { existsSync } from 'node:fs'
import path from 'node:path'

/**
 * The shared corpora of real images (../shared/corpus next to the repository,
 * on the team's machines and in CI; never copied into the project). Only the
 * tests of this folder read them: `npm test` leaves this folder out and runs
 * on generated images (test/support/images.ts); `tsx test/run.ts --corpus`
 * runs it.
 */
export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus')

// Every corpus test imports this module: a run without the corpora fails at once and says why.
if (!existsSync(CORPUS)) throw new Error(`The corpus run reads ${CORPUS}, which is missing.`)
