import { sizeReport as report, tooLargeMessage, type SizeReport } from './codec-rules.js'
import { FST_SESSION_TOO_LARGE } from './errors.js'
import type { ResolvedCodecOptions } from './options.js'
import { serialize, type SessionRecord } from './values.js'

// What takes the room in a session too large (or nearly) for its cookies (codec-rules.ts), with
// the Node serializer and error. Only computed on those rare paths, never for an ordinary write.

export type { SizeReport } from './codec-rules.js'

export function sizeReport (options: ResolvedCodecOptions, data: SessionRecord, value: string): SizeReport {
  return report(options, data, value, serialize)
}

/** The error for a session that needs more than its cookies hold. */
export function tooLarge (options: ResolvedCodecOptions, data: SessionRecord, value: string): InstanceType<typeof FST_SESSION_TOO_LARGE> {
  return new FST_SESSION_TOO_LARGE(tooLargeMessage(options, data, value, serialize))
}
