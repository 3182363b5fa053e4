/**
 * Bad input to the command line: one clear message, exit 2, nothing started.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Runtime from "effect/Runtime"

/**
 * The exit code of bad input, as most command-line tools use it.
 *
 * @since 0.2.0
 * @category constants
 */
export const exitCode = 2

/**
 * @since 0.2.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
}> {
  override readonly [Runtime.errorExitCode] = exitCode
  // The command line prints it, once, in its own words.
  override readonly [Runtime.errorReported] = false
}
