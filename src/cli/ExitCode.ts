/**
 * The command's exit codes: the library's contract, 2 for bad input, and a
 * process's own code with `--exit-code-from`.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as CliError from "effect/cli/CliError"
import * as Exit from "effect/Exit"
import * as Os from "node:os"
import type * as Member from "../Member.ts"
import * as NodeSupervisor from "../NodeSupervisor.ts"
import type { ShutdownReport } from "../ShutdownReport.ts"
import * as UsageError from "./UsageError.ts"

/**
 * The process's exit codes, as `--help` prints them.
 *
 * @since 0.2.0
 * @category constants
 */
export const exitCodesText = `EXIT CODES
  0    a signal (TERM, INT, HUP, QUIT), and every process stopped cleanly within the grace period
  1    a process exited on its own, could not start, was not ready in time (--notify), or did
       not stop cleanly (a non-zero exit, or death by a signal other than its stop signal)
  2    bad input: an unknown flag, no command, a bad name, duration, signal or Procfile line
  124  something had to be SIGKILLed: the grace period ran out, or a second signal came
  With --exit-code-from NAME: that process's own exit code (128 + n for signal n).`

/** A process's own exit code: its code, or 128 + the number of the signal that killed it. */
const ownCode = (end: Member.End | undefined): number => {
  if (end === undefined || end._tag !== "Exited") return 1
  if (end.code !== null) return end.code
  return 128 + (Os.constants.signals[end.signal as NodeJS.Signals] ?? 0)
}

const isUsage = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.squash(cause)
  return error instanceof UsageError.UsageError || (CliError.isCliError(error) && error._tag !== "UserError")
}

/**
 * The command's exit code, as {@link exitCodesText} says: 2 for bad input;
 * with `--exit-code-from`, that process's own code; otherwise the
 * supervision's.
 *
 * @since 0.2.0
 * @category exit codes
 */
export const exitCodeOf = (
  exit: Exit.Exit<unknown, unknown>,
  report: ShutdownReport | undefined,
  exitCodeFrom: string | undefined
): number => {
  if (Exit.isFailure(exit) && isUsage(exit.cause)) return UsageError.exitCode
  if (exitCodeFrom !== undefined && report !== undefined) {
    return ownCode(report.members.find((member) => member.name === exitCodeFrom)?.exit)
  }
  return NodeSupervisor.exitCodeOf(exit, report)
}
