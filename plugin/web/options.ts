import { checkCodecOptions, CODEC_OPTION_NAMES, type CheckedCodecOptions, type SessionCodecOptions } from '../codec-options.js'
import { invalidOption } from './errors.js'

// The Web codec's options are the plugin's codec options, checked by the same code
// (codec-options.ts): same names, defaults, limits and messages, thrown as SessionCodecError.

export type { Format, Secret, SessionCodecOptions } from '../codec-options.js'

/** The options checked and completed with their defaults. */
export type ResolvedWebOptions = CheckedCodecOptions

/** The options checked and completed with their defaults; throws FST_SESSION_INVALID_OPTION saying what to change. */
export function resolveWebOptions (options: SessionCodecOptions): ResolvedWebOptions {
  return checkCodecOptions(options, CODEC_OPTION_NAMES, (message) => { throw invalidOption(message) })
}
