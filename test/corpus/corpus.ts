import path from 'node:path'

/** The shared corpora of real images beside the repository (CI and our machines only; never copied in). */
export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus')
