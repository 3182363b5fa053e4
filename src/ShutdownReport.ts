/**
 * What a supervision ended with: why it shut down, how each member ended, and
 * the verdict the process exits with.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Member from "./Member.ts"
import type { Signal } from "./ShutdownSignal.ts"

/**
 * Why the supervisor shut down: the first of these events wins the race.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = Data.TaggedEnum<{
  /** A drain signal (SIGTERM, SIGINT, ...) asked for a graceful shutdown. */
  Signalled: { readonly signal: Signal }
  /** A member (a child process, a server, ...) ended on its own. */
  MemberExited: {
    readonly name: string
    readonly kind: string
    readonly pid: number | undefined
    readonly end: Member.End
  }
  /** The supervising fiber was interrupted from outside, with no signal seen. */
  Interrupted: {}
  /** A member failed to start; the ones started before it were drained. */
  StartFailed: { readonly error: string }
  /** A member was not ready within its start timeout. */
  NotReady: {
    readonly name: string
    readonly kind: string
    readonly pid: number | undefined
    readonly timeoutMillis: number
  }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Outcome = Data.taggedEnum<Outcome>()

/**
 * What the drain did with one member.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberEnd = Data.TaggedEnum<{
  /** It had exited before the drain began (the member whose exit caused it, or one exiting with it). */
  AlreadyExited: {}
  /** It stopped after its stop request, `millis` after the drain began. */
  Stopped: { readonly millis: number }
  /** Something of it was still running and was forced `millis` after the drain began. */
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
  readonly kind: string
  readonly pid: number | undefined
  /** What the drain did with it. */
  readonly end: MemberEnd
  /** How it ended, in its own terms (exit code or signal); `undefined` if it never did. */
  readonly exit: Member.End | undefined
  /** Whether it ended as a stop should: exit 0, its own stop signal, a server closed. */
  readonly clean: boolean
}

/**
 * What forced the stragglers, when something did.
 *
 * @since 0.1.0
 * @category models
 */
export type ForcedBy = "budget" | "second-signal"

/**
 * The judgement of a supervision, from which the exit code follows:
 * - `drained`: a signal, every member stopped cleanly within the budget (exit 0);
 * - `member-exited`: a member ended on its own (exit 1);
 * - `start-failed`: a member could not start, or was not ready in time (exit 1);
 * - `drain-failed`: a member's stop was not clean: a non-zero exit, death by another signal (exit 1);
 * - `forced`: something had to be forced, at the budget or on a second signal (exit 124).
 *
 * @since 0.2.0
 * @category models
 */
export type Verdict = "drained" | "member-exited" | "start-failed" | "drain-failed" | "forced"

/**
 * The exit code of each verdict: the one table the errors of `Supervisor.run`
 * and `NodeSupervisor.teardown` both follow.
 *
 * @since 0.2.0
 * @category constants
 */
export const exitCodes: Record<Verdict, number> = {
  "drained": 0,
  "member-exited": 1,
  "start-failed": 1,
  "drain-failed": 1,
  "forced": 124
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ShutdownReport {
  readonly outcome: Outcome
  readonly members: ReadonlyArray<MemberReport>
  /** How long the members kept serving, not ready any more, before the stop requests (the drain delay). */
  readonly delayMillis: number
  /** From the stop requests to every member ended. */
  readonly drainMillis: number
  readonly budgetMillis: number
  /** True when nothing had to be forced. */
  readonly budgetHeld: boolean
  readonly forcedBy: ForcedBy | undefined
  readonly verdict: Verdict
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const verdictOf = (report: Omit<ShutdownReport, "verdict">): Verdict =>
  report.outcome._tag === "StartFailed" || report.outcome._tag === "NotReady"
    ? "start-failed"
    : report.outcome._tag === "MemberExited"
    ? "member-exited"
    : !report.budgetHeld
    ? "forced"
    : report.members.some((member) => !member.clean)
    ? "drain-failed"
    : "drained"

const describeMember = (kind: string, name: string, pid: number | undefined) =>
  `${kind} ${name}${pid === undefined ? "" : ` (pid ${pid})`}`

/**
 * One line for the outcome, as the supervisor logs it.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatOutcome: (outcome: Outcome) => string = Outcome.$match({
  Signalled: ({ signal }) => `received ${signal}, shutting down`,
  MemberExited: ({ end, kind, name, pid }) =>
    `${describeMember(kind, name, pid)} ${end._tag === "Exited" ? "exited on its own" : "ended on its own"} ${
      end._tag === "Exited" ? (end.signal === null ? `with code ${end.code}` : `by signal ${end.signal}`) : `(${Member.formatEnd(end)})`
    }`,
  Interrupted: () => "interrupted, shutting down",
  StartFailed: ({ error }) => `start failed: ${error}`,
  NotReady: ({ kind, name, pid, timeoutMillis }) =>
    `start failed: ${describeMember(kind, name, pid)} was not ready within ${timeoutMillis} ms`
})

const formatFate: (end: MemberEnd) => string = MemberEnd.$match({
  AlreadyExited: () => "had already exited",
  Stopped: ({ millis }) => `stopped in ${millis} ms`,
  Forced: ({ millis }) => `forced after ${millis} ms`
})

const formatVerdict = (report: ShutdownReport): string => {
  const delay = report.delayMillis > 0 ? `kept serving ${report.delayMillis} ms (drain delay), then ` : ""
  if (!report.budgetHeld) {
    return `${delay}drained in ${report.drainMillis} ms; forced by ${
      report.forcedBy === "second-signal" ? "a second signal" : `the ${report.budgetMillis} ms budget`
    }`
  }
  const within = `${delay}drained in ${report.drainMillis} ms, within the ${report.budgetMillis} ms budget`
  const unclean = report.members.filter((member) => !member.clean).length
  return report.verdict === "drain-failed"
    ? `${within}, but ${unclean === 1 ? "1 member" : `${unclean} members`} did not stop cleanly`
    : within
}

/**
 * A readable summary of the report, one line per member.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (report: ShutdownReport): string => {
  const members = report.members.map((member) => {
    const exit = member.exit === undefined ? "still running" : Member.formatEnd(member.exit)
    const unclean = !member.clean && member.end._tag === "Stopped" ? " (not a clean stop)" : ""
    return `  ${describeMember(member.kind, member.name, member.pid)}: ${formatFate(member.end)}, ${exit}${unclean}`
  })
  return [`shutdown: ${formatOutcome(report.outcome)}; ${formatVerdict(report)}`, ...members].join("\n")
}
