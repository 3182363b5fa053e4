/**
 * One-for-all supervision: start every member, wait for the first of a
 * shutdown signal or a child's own exit, then drain every member under one
 * shared budget and force what is left.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Budget from "./Budget.ts"
import * as Child from "./Child.ts"
import type * as Member from "./Member.ts"
import { Outcome, MemberEnd, type ForcedBy, type ShutdownReport, format, formatOutcome } from "./ShutdownReport.ts"
import { ShutdownSignal } from "./ShutdownSignal.ts"
import { SupervisorMetrics, type ExitReason } from "./SupervisorMetrics.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<E1, R1, E2, R2> {
  /** Started in order; the first child to exit on its own ends the supervision. */
  readonly children: ReadonlyArray<Effect.Effect<Child.Child, E1, R1>>
  /** Parent-local servers (or any member), started after the children and drained with them. */
  readonly servers?: ReadonlyArray<Effect.Effect<Member.Member, E2, R2>> | undefined
  /** The one graceful-shutdown budget shared by every member's drain. */
  readonly budget: Duration.Input
}

/**
 * A child exited on its own: the container should exit non-zero and be
 * restarted. Exit code 1 under `NodeRuntime.runMain`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChildExitedError extends Data.TaggedError("ChildExitedError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = 1
  // The supervisor has logged the exit and the drain already.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return formatOutcome(this.report.outcome)
  }
}

/**
 * A signal-initiated shutdown had to force members past the budget (or on a
 * second signal). Exit code 124 under `NodeRuntime.runMain`, as `timeout(1)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceededError extends Data.TaggedError("BudgetExceededError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = 124
  // The supervisor has logged the drain, naming what it forced, already.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    const forced = this.report.members.filter((member) => member.end._tag === "Forced").map((member) => member.name)
    return `forced ${forced.join(", ")} after the ${this.report.budgetMillis} ms graceful-shutdown budget`
  }
}

/**
 * The exit codes a supervised process ends with under `NodeRuntime.runMain`
 * with {@link teardown}.
 *
 * @since 0.1.0
 * @category constants
 */
export const exitCodes = {
  drained: 0,
  childExited: 1,
  budgetExceeded: 124
} as const

// The supervisor's own bookkeeping for one started member.
interface Tracked {
  readonly member: Member.Member
  stopRequested: boolean
  forced: boolean
}

const exitReason = (tracked: Tracked): ExitReason =>
  tracked.forced ? "forced" : tracked.stopRequested ? "stopped" : "unexpected"

const isChild = (member: Member.Member): member is Child.Child => member.kind === "child"

const elapsedSince = (start: number) => Effect.map(Clock.currentTimeMillis, (now) => now - start)

/** Starts the members one by one, each in a scope of its own inside `scope`. */
const startAll = <E, R>(
  members: ReadonlyArray<Effect.Effect<Member.Member, E, R>>,
  budget: Duration.Duration,
  scope: Scope.Scope,
  tracked: Array<Tracked>
) =>
  Effect.gen(function*() {
    const metrics = yield* SupervisorMetrics
    for (const acquire of members) {
      const memberScope = yield* Scope.fork(scope, "sequential")
      const member = yield* acquire.pipe(
        Scope.provide(memberScope),
        // Children learn the budget, to bound their own drain should this supervisor die.
        Effect.provideService(Child.CurrentBudget, budget),
        Effect.onError((cause) => Scope.close(memberScope, Exit.failCause(cause)))
      )
      const entry: Tracked = { member, stopRequested: false, forced: false }
      tracked.push(entry)
      if (isChild(member)) {
        yield* metrics.childStarted(member.name)
        // Detached so that closing the scope cannot cut off the count of an exit just seen.
        yield* member.exit.pipe(
          Effect.flatMap(() => metrics.childExited(member.name, exitReason(entry))),
          Effect.forkDetach
        )
      }
    }
  })

/** The race: the first signal against every child's exit. */
const firstEvent = (children: ReadonlyArray<Child.Child>) =>
  Effect.gen(function*() {
    const signals = yield* ShutdownSignal
    return yield* Effect.raceAll<Effect.Effect<Outcome>>([
      Effect.map(signals.await, (signal) => Outcome.Signalled({ signal })),
      ...children.map((child) =>
        Effect.map(child.exit, (status) => Outcome.ChildExited({ name: child.name, pid: child.pid, ...status }))
      )
    ])
  })

// NodeRuntime.runMain turns SIGTERM into an interruption; ShutdownSignal records the
// signal just before, so an interruption is reported as the signal when one was seen.
const outcomeOfInterruption = Effect.gen(function*() {
  const signals = yield* ShutdownSignal
  return Option.match(yield* signals.poll, {
    onNone: () => Outcome.Interrupted(),
    onSome: (signal) => Outcome.Signalled({ signal })
  })
})

const logOutcome = (outcome: Outcome) =>
  Outcome.$is("ChildExited")(outcome) || Outcome.$is("StartFailed")(outcome)
    ? Effect.logError(formatOutcome(outcome))
    : Effect.logInfo(formatOutcome(outcome))

/**
 * Waits for every pending member to end, under the budget; a second signal cuts
 * it short. The races fork interruptible fibers, so the timeout can end the
 * waiting although the supervising fiber itself is uninterruptible.
 */
const awaitWithinBudget = (
  pending: ReadonlyArray<Tracked>,
  budget: Duration.Duration,
  startedAt: number,
  stoppedAfter: Map<Tracked, number>
) =>
  Effect.gen(function*() {
    const signals = yield* ShutdownSignal
    const awaitAll = Effect.forEach(
      pending,
      (tracked) =>
        tracked.member.ended.pipe(
          Effect.andThen(elapsedSince(startedAt)),
          Effect.map((millis) => stoppedAfter.set(tracked, millis))
        ),
      { concurrency: "unbounded", discard: true }
    )
    const held = awaitAll.pipe(
      Effect.timeout(budget),
      Effect.as<ForcedBy | undefined>(undefined),
      Effect.catchTag("TimeoutError", () => Effect.succeed<ForcedBy>("budget"))
    )
    const secondSignal = Effect.as(signals.awaitSecond, "second-signal" as const)
    return yield* Effect.raceFirst(held, secondSignal)
  })

/**
 * Stop requests to every member at once, one shared budget for all of them,
 * then force whatever is still running.
 */
const drain = (tracked: ReadonlyArray<Tracked>, budget: Duration.Duration, outcome: Outcome) =>
  Effect.gen(function*() {
    const metrics = yield* SupervisorMetrics
    const startedAt = yield* Clock.currentTimeMillis
    const alreadyEnded = new Set<Tracked>()
    for (const entry of tracked) {
      if (yield* entry.member.hasEnded) alreadyEnded.add(entry)
    }
    const pending = tracked.filter((entry) => !alreadyEnded.has(entry))
    for (const entry of pending) {
      entry.stopRequested = true
      yield* entry.member.requestStop
    }
    // Only now: a process's first log line is slow, and the members should not wait for it.
    yield* logOutcome(outcome)

    const stoppedAfter = new Map<Tracked, number>()
    const forcedBy = yield* awaitWithinBudget(pending, budget, startedAt, stoppedAfter)
    const stragglers = pending.filter((entry) => !stoppedAfter.has(entry))
    const forcedAfter = yield* elapsedSince(startedAt)
    for (const entry of stragglers) {
      entry.forced = true
      yield* entry.member.force
    }
    yield* Effect.forEach(stragglers, (entry) => entry.member.ended, { concurrency: "unbounded", discard: true })

    const drainMillis = yield* elapsedSince(startedAt)
    yield* metrics.drainObserved(drainMillis)
    const report: ShutdownReport = {
      outcome,
      members: tracked.map((entry) => ({
        name: entry.member.name,
        kind: entry.member.kind,
        pid: entry.member.pid,
        end: alreadyEnded.has(entry)
          ? MemberEnd.AlreadyExited()
          : entry.forced
          ? MemberEnd.Forced({ millis: forcedAfter })
          : MemberEnd.Stopped({ millis: stoppedAfter.get(entry)! })
      })),
      drainMillis,
      budgetMillis: Duration.toMillis(budget),
      budgetHeld: stragglers.length === 0,
      forcedBy: stragglers.length === 0 ? undefined : forcedBy
    }
    yield* report.budgetHeld ? Effect.logInfo(format(report)) : Effect.logWarning(format(report))
    return report
  })

/**
 * Starts, races, drains, then hands the report to `finish` while still
 * protected from interruption, so that even an interrupted supervision can
 * turn its report into a typed failure.
 */
const superviseWith = <E1, R1, E2, R2, A, E3>(
  options: Options<E1, R1, E2, R2>,
  finish: (report: ShutdownReport) => Effect.Effect<A, E3>
) =>
  Effect.gen(function*() {
    const budget = yield* Budget.make(options.budget)
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make("parallel")
        const tracked: Array<Tracked> = []
        const members: ReadonlyArray<Effect.Effect<Member.Member, E1 | E2, R1 | R2>> = [
          ...options.children,
          ...(options.servers ?? [])
        ]
        const started = yield* Effect.exit(restore(startAll(members, budget, scope, tracked)))
        const outcome: Outcome = Exit.isFailure(started)
          ? Cause.hasInterruptsOnly(started.cause)
            ? yield* outcomeOfInterruption
            : Outcome.StartFailed({ error: String(Cause.squash(started.cause)) })
          : yield* Effect.exit(restore(firstEvent(tracked.map((entry) => entry.member).filter(isChild)))).pipe(
            Effect.flatMap((raced) => Exit.isSuccess(raced) ? Effect.succeed(raced.value) : outcomeOfInterruption)
          )
        const report = yield* drain(tracked, budget, outcome)
        yield* Scope.close(scope, Exit.void)
        if (Exit.isFailure(started)) return yield* Effect.failCause(started.cause)
        return yield* finish(report)
      })
    )
  })

/**
 * Supervises the members until a signal or a child's own exit, drains them,
 * and returns the report. Fails only when a member cannot start (after the
 * started ones are drained). Interrupted from outside, it still drains
 * everything before the interruption takes effect.
 *
 * @since 0.1.0
 * @category supervision
 */
export const supervise = <E1, R1, E2 = never, R2 = never>(
  options: Options<E1, R1, E2, R2>
) => superviseWith(options, Effect.succeed)

/**
 * Turns a report into the process outcome: success for a signal drained within
 * budget, {@link ChildExitedError} when a child exited on its own,
 * {@link BudgetExceededError} when something had to be forced.
 *
 * @since 0.1.0
 * @category supervision
 */
export const check = (report: ShutdownReport): Effect.Effect<ShutdownReport, ChildExitedError | BudgetExceededError> =>
  Outcome.$is("ChildExited")(report.outcome)
    ? Effect.fail(new ChildExitedError({ report }))
    : report.budgetHeld
    ? Effect.succeed(report)
    : Effect.fail(new BudgetExceededError({ report }))

/**
 * {@link supervise} then {@link check}: the main program of a supervising
 * process, meant for `NodeRuntime.runMain` with {@link teardown}.
 *
 * @since 0.1.0
 * @category supervision
 */
export const run = <E1, R1, E2 = never, R2 = never>(
  options: Options<E1, R1, E2, R2>
) => superviseWith(options, check)

const isInterruptOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/**
 * A `Runtime.Teardown` for a supervising main. `NodeRuntime.runMain`
 * interrupts the main fiber on SIGINT/SIGTERM, which by default exits 130. A
 * supervision drains before that interruption takes effect, but the
 * interruption then replaces the program's own exit. So an interrupted main
 * is judged by `programExit`, the program's exit as recorded before the
 * interruption: a dead child or a forced drain keeps its exit code, a clean
 * drain exits 0.
 *
 * @since 0.1.0
 * @category runtime
 */
export const teardownFor = (programExit: () => Exit.Exit<unknown, unknown> | undefined): Runtime.Teardown =>
(exit, onExit) => {
  if (!isInterruptOnly(exit)) return Runtime.defaultTeardown(exit, onExit)
  const own = programExit()
  if (own === undefined || !Exit.isFailure(own) || isInterruptOnly(own)) return onExit(exitCodes.drained)
  // runMain reported only the interruption; report what the program failed with, unless it was.
  if (Runtime.getErrorReported(Cause.squash(own.cause))) console.error(Cause.pretty(own.cause))
  return Runtime.defaultTeardown(own, onExit)
}
