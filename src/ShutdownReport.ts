/**
 * What a supervision ended with: why it shut down, how each member ended, and
 * whether the drain held its budget.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Member from "./Member.ts"
import type { Signal } from "./ShutdownSignal.ts"

/**
 * Why the supervisor shut down: the first of these events wins the race.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = Data.TaggedEnum<{
  /** SIGTERM or SIGINT asked for a graceful shutdown. */
  Signalled: { readonly signal: Signal }
  /** A child exited on its own. */
  ChildExited: {
    readonly name: string
    readonly pid: number
    readonly code: number | null
    readonly signal: string | null
  }
  /** The supervising fiber was interrupted from outside, with no signal seen. */
  Interrupted: {}
  /** A member failed to start; the ones started before it were drained. */
  StartFailed: { readonly error: string }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Outcome = Data.taggedEnum<Outcome>()

/**
 * How one member ended.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberEnd = Data.TaggedEnum<{
  /** It had ended before the drain began (the child whose exit caused it, or one exiting with it). */
  AlreadyExited: {}
  /** It stopped after its stop request, `millis` after the drain began. */
  Stopped: { readonly millis: number }
  /** It was still running and was forced `millis` after the drain began. */
  Forced: { readonly millis: number }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const MemberEnd = Data.taggedEnum<MemberEnd>()

/**
 * @since 0.1.0
 * @category models
 */
export interface MemberReport {
  readonly name: string
  readonly kind: Member.Kind
  readonly pid: number | undefined
  readonly end: MemberEnd
}

/**
 * What forced the stragglers, when something did.
 *
 * @since 0.1.0
 * @category models
 */
export type ForcedBy = "budget" | "second-signal"

/**
 * @since 0.1.0
 * @category models
 */
export interface ShutdownReport {
  readonly outcome: Outcome
  readonly members: ReadonlyArray<MemberReport>
  /** From the stop requests to every member ended. */
  readonly drainMillis: number
  readonly budgetMillis: number
  /** True when every member stopped on request, without being forced. */
  readonly budgetHeld: boolean
  readonly forcedBy: ForcedBy | undefined
}

/**
 * One line for the outcome, as the supervisor logs it.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatOutcome: (outcome: Outcome) => string = Outcome.$match({
  Signalled: ({ signal }) => `received ${signal}, shutting down`,
  ChildExited: ({ code, name, pid, signal }) =>
    `child ${name} (pid ${pid}) exited on its own ${signal === null ? `with code ${code}` : `by signal ${signal}`}`,
  Interrupted: () => "interrupted, shutting down",
  StartFailed: ({ error }) => `start failed: ${error}`
})

const formatEnd: (end: MemberEnd) => string = MemberEnd.$match({
  AlreadyExited: () => "had already exited",
  Stopped: ({ millis }) => `stopped in ${millis} ms`,
  Forced: ({ millis }) => `forced after ${millis} ms`
})

/**
 * A readable summary of the report, one line per member.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (report: ShutdownReport): string => {
  const verdict = report.budgetHeld
    ? `drained in ${report.drainMillis} ms, within the ${report.budgetMillis} ms budget`
    : `drained in ${report.drainMillis} ms; forced by ${
      report.forcedBy === "second-signal" ? "a second signal" : `the ${report.budgetMillis} ms budget`
    }`
  const members = report.members.map((member) =>
    `  ${member.kind} ${member.name}${member.pid === undefined ? "" : ` (pid ${member.pid})`}: ${formatEnd(member.end)}`
  )
  return [`shutdown: ${formatOutcome(report.outcome)}; ${verdict}`, ...members].join("\n")
}
