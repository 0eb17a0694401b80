import pino, { type Logger } from 'pino'
import type { LogLevel } from '../config.js'

export type { Logger }

/** Structured JSON logs; the HTTP layer adds `reqId` to every line it writes for a request. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'pictura' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: ['req.headers.authorization', 'headers.authorization'],
    },
    destination,
  )
}
