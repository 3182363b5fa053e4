/**
 * One-for-all supervision: start every member, wait for the first of a
 * shutdown signal or any member's own end, then drain every member under one
 * shared budget and force what is left.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Budget from "./Budget.ts"
import * as Child from "./Child.ts"
import * as Member from "./Member.ts"
import { Output } from "./Output.ts"
import {
  exitCodes,
  type ForcedBy,
  format,
  formatOutcome,
  MemberEnd,
  type MemberReport,
  Outcome,
  type ShutdownReport,
  verdictOf
} from "./ShutdownReport.ts"
import { ShutdownSignal } from "./ShutdownSignal.ts"
import { type ExitReason, SupervisorMetrics } from "./SupervisorMetrics.ts"
import { type Phase, SupervisorState } from "./SupervisorState.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any> = never
> {
  /** Started in order; the first member to end on its own ends the supervision. */
  readonly children: ReadonlyArray<Children>
  /** Parent-local servers (or any member), started after the children and drained with them. */
  readonly servers?: ReadonlyArray<Servers> | undefined
  /** The one graceful-shutdown budget shared by every member's drain. */
  readonly budget: Duration.Input
  /**
   * After a signal, how long the members keep serving, not ready any more, before their stop
   * requests: the time a load balancer takes to stop sending requests (Kubernetes' endpoints lag
   * behind SIGTERM). It comes out of the budget, so it must be shorter. Default 0.
   */
  readonly drainDelay?: Duration.Input | undefined
}

/**
 * A member (a child, a server) ended on its own: the container should exit
 * non-zero and be restarted. Exit code 1 under `NodeRuntime.runMain`.
 *
 * @since 0.2.0
 * @category errors
 */
export class MemberExitedError extends Data.TaggedError("MemberExitedError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = exitCodes["member-exited"]
  // The supervisor has logged the exit and the drain already.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return formatOutcome(this.report.outcome)
  }
}

/**
 * A member was not ready within its start timeout (or could not start): the
 * supervision drained what had started. Exit code 1.
 *
 * @since 0.2.0
 * @category errors
 */
export class StartFailedError extends Data.TaggedError("StartFailedError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = exitCodes["start-failed"]
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return formatOutcome(this.report.outcome)
  }
}

/**
 * A signal-initiated shutdown in which a member did not stop cleanly: it
 * exited non-zero, or died by a signal other than its stop signal. Exit code 1.
 *
 * @since 0.2.0
 * @category errors
 */
export class DrainFailedError extends Data.TaggedError("DrainFailedError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = exitCodes["drain-failed"]
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    const failed = this.report.members.filter((member) => !member.clean).map((member) => member.name)
    return `${failed.join(", ")} did not stop cleanly`
  }
}

/**
 * A shutdown had to force members: the budget ran out, or a second signal
 * came. Exit code 124 under `NodeRuntime.runMain`, as `timeout(1)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceededError extends Data.TaggedError("BudgetExceededError")<{
  readonly report: ShutdownReport
}> {
  override readonly [Runtime.errorExitCode] = exitCodes.forced
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    const forced = this.report.members.filter((member) => member.end._tag === "Forced").map((member) => member.name)
    return `forced ${forced.join(", ")} after the ${this.report.budgetMillis} ms graceful-shutdown budget`
  }
}

// The supervisor's own bookkeeping for one started member.
interface Tracked {
  readonly member: Member.Member
  stopRequested: boolean
  forced: boolean
  ready: boolean
}

// What starting, racing and draining share.
interface Supervision {
  readonly scope: Scope.Scope
  readonly budget: Duration.Duration
  readonly tracked: Array<Tracked>
  // One per member: counts its exit in the metrics, and reports it as the outcome if it came first.
  readonly watchers: Map<Tracked, Fiber.Fiber<void>>
  // One per member until it is ready: counts it, or reports it not ready in time.
  readonly readiness: Array<Fiber.Fiber<void>>
  readonly first: Deferred.Deferred<Outcome>
  // Any member's end, even after the outcome: it cuts the drain delay short.
  readonly anyEnd: Deferred.Deferred<void>
}

const exitReason = (tracked: Tracked): ExitReason =>
  tracked.forced ? "forced" : tracked.stopRequested ? "stopped" : "unexpected"

// The errors' own words: their `name` field is the member's name, so String() would repeat it.
const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

const elapsedSince = (start: number) => Effect.map(Clock.currentTimeMillis, (now) => now - start)

// A member whose stop request, force or end fails is reported, and the drain goes on without it.
const guarded = (tracked: Tracked, what: string, effect: Effect.Effect<void>) =>
  Effect.catchCause(
    effect,
    (cause) => Effect.logError(`${tracked.member.kind} ${tracked.member.name}: ${what} failed`, Cause.pretty(cause))
  )

const allReady = (tracked: ReadonlyArray<Tracked>) =>
  Effect.forEach(tracked, (entry) => entry.member.ready, { concurrency: "unbounded", discard: true })

/**
 * Starts one member and tracks it. The acquisition may be interrupted as the
 * member itself allows. A member that announced itself (`Member.register`, as
 * children and gRPC servers do in the step that creates them) is tracked even
 * if the acquisition is then interrupted, so one whose start completes just
 * as the outcome is decided is drained and reported like the others. Its exit
 * is watched from then on.
 */
const startOne = <E, R>(acquire: Effect.Effect<Member.Member, E, R>, context: Supervision) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const metrics = yield* SupervisorMetrics
      const track = (member: Member.Member) =>
        Effect.gen(function*() {
          const entry: Tracked = { member, stopRequested: false, forced: false, ready: false }
          context.tracked.push(entry)
          const isChild = Child.isChild(member)
          if (isChild) yield* metrics.childStarted(member.name)
          const watcher = yield* Effect.forkDetach(
            Effect.gen(function*() {
              const end = yield* member.exit
              if (isChild) yield* metrics.childExited(member.name, exitReason(entry))
              if (isChild && entry.ready) yield* metrics.childrenReadyChanged(-1)
              yield* Deferred.succeed(context.anyEnd, undefined)
              // Only the first event is the outcome; an end after a stop request is just the drain.
              if (!entry.stopRequested) {
                yield* Deferred.succeed(
                  context.first,
                  Outcome.MemberExited({ name: member.name, kind: member.kind, pid: member.pid, end })
                )
              }
            }),
            { startImmediately: true }
          )
          context.watchers.set(entry, watcher)
          const timeout = member.startTimeout
          const ready = yield* Effect.forkDetach(
            Effect.gen(function*() {
              const inTime = timeout === undefined
                ? yield* Effect.asSome(member.ready)
                : yield* Effect.timeoutOption(member.ready, timeout)
              if (Option.isNone(inTime)) {
                const timeoutMillis = Duration.toMillis(timeout!)
                yield* Deferred.succeed(
                  context.first,
                  Outcome.NotReady({ name: member.name, kind: member.kind, pid: member.pid, timeoutMillis })
                )
              } else if (Option.isNone(yield* member.pollExit)) {
                // A member that has ended is not counted ready, whatever it said before.
                entry.ready = true
                if (isChild) yield* metrics.childrenReadyChanged(1)
              }
            }),
            { startImmediately: true }
          )
          context.readiness.push(ready)
        })
      let announced: Member.Member | undefined
      const memberScope = yield* Scope.fork(context.scope, "sequential")
      // What was started before this member, for those that start only once it is all ready.
      const predecessors = [...context.tracked]
      const acquired = yield* Effect.exit(restore(acquire).pipe(
        Scope.provide(memberScope),
        // Children learn the budget, to bound their own drain should this supervisor die.
        Effect.provideService(Child.CurrentBudget, context.budget),
        Effect.provideService(Member.CurrentRegistry, (member) => Effect.sync(() => void (announced = member))),
        Effect.provideService(Member.CurrentPredecessorsReady, allReady(predecessors))
      ))
      if (Exit.isSuccess(acquired)) return yield* track(acquired.value)
      // Announced, then interrupted: it exists, so it is drained with the others, its scope closed with theirs.
      if (announced !== undefined) yield* track(announced)
      else yield* Scope.close(memberScope, acquired)
      return yield* acquired
    })
  )

/**
 * Starts the members one by one until all are started or the outcome is
 * decided. It yields to the event loop after each, so a signal is seen
 * between two spawns, not after the last.
 */
const startAll = <E, R>(members: ReadonlyArray<Effect.Effect<Member.Member, E, R>>, context: Supervision) =>
  Effect.gen(function*() {
    const signals = yield* ShutdownSignal
    for (const acquire of members) {
      // A signal seen already (before the start, say) may not have reached `first` yet.
      if (Deferred.isDoneUnsafe(context.first) || Option.isSome(yield* signals.poll)) return
      yield* startOne(acquire, context)
      yield* Effect.yieldNow
    }
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
  Outcome.$is("MemberExited")(outcome) || Outcome.$is("StartFailed")(outcome)
    ? Effect.logError(formatOutcome(outcome))
    : Effect.logInfo(formatOutcome(outcome))

/**
 * Waits for every member to end, under the budget; a second signal cuts it
 * short. The races fork interruptible fibers, so the timeout can end the
 * waiting although the supervising fiber itself is uninterruptible.
 */
const awaitWithinBudget = (
  tracked: ReadonlyArray<Tracked>,
  budget: Duration.Duration,
  startedAt: number,
  endedAfter: Map<Tracked, number>
) =>
  Effect.gen(function*() {
    const signals = yield* ShutdownSignal
    const awaitAll = Effect.forEach(
      tracked,
      (entry) =>
        guarded(entry, "its end", entry.member.ended).pipe(
          Effect.andThen(elapsedSince(startedAt)),
          Effect.map((millis) => void endedAfter.set(entry, millis))
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

// After SIGKILL, how long a member may take to be gone before the report is made without it.
const forceWait = Duration.seconds(1)

/**
 * After a signal, the members keep serving for the drain delay, not ready any
 * more, so that the load balancer stops sending them requests before they stop
 * taking them. A second signal, or any member's end, cuts it short. Returns how
 * long it waited; it comes out of the budget.
 */
const delayStopRequests = (outcome: Outcome, drainDelay: Duration.Duration, anyEnd: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    if (outcome._tag !== "Signalled" || Duration.isZero(drainDelay)) return 0
    const signals = yield* ShutdownSignal
    const startedAt = yield* Clock.currentTimeMillis
    yield* Effect.logInfo(
      `received ${outcome.signal}: not ready any more; the members keep serving ${
        Duration.toMillis(drainDelay)
      } ms before their stop requests (drain delay)`
    )
    yield* Effect.raceAll([Effect.sleep(drainDelay), signals.awaitSecond, Deferred.await(anyEnd)])
    return yield* elapsedSince(startedAt)
  })

/**
 * Stop requests to every member at once, one shared budget for all of them
 * (less the drain delay already spent), then force whatever is still running.
 */
const drain = (context: Supervision, outcome: Outcome, delayMillis: number) =>
  Effect.gen(function*() {
    const { tracked, watchers } = context
    const budget = Duration.millis(Duration.toMillis(context.budget) - delayMillis)
    const metrics = yield* SupervisorMetrics
    const startedAt = yield* Clock.currentTimeMillis
    const exitedBefore = new Set<Tracked>()
    for (const entry of tracked) {
      if (Option.isSome(yield* entry.member.pollExit)) exitedBefore.add(entry)
    }
    // Every member, the ones already exited too (a process's group may outlive its leader), but the
    // living first: finding what is left of an exited one reads the whole process table.
    for (const entry of [...tracked.filter((entry) => !exitedBefore.has(entry)), ...exitedBefore]) {
      entry.stopRequested = true
      yield* guarded(entry, "stop request", entry.member.requestStop)
    }
    // Only now: a process's first log line is slow, and the members should not wait for it.
    yield* logOutcome(outcome)

    const endedAfter = new Map<Tracked, number>()
    const forcedBy = yield* awaitWithinBudget(tracked, budget, startedAt, endedAfter)
    const stragglers = tracked.filter((entry) => !endedAfter.has(entry))
    const forcedAfter = yield* elapsedSince(startedAt)
    for (const entry of stragglers) {
      entry.forced = true
      yield* guarded(entry, "force", entry.member.force)
    }
    yield* Effect.forEach(stragglers, (entry) => guarded(entry, "its end", entry.member.ended), {
      concurrency: "unbounded",
      discard: true
    }).pipe(Effect.timeoutOption(forceWait))
    // The metrics agree with the report: every exit seen is counted before it is made.
    for (const [entry, watcher] of watchers) {
      if (Option.isSome(yield* entry.member.pollExit)) yield* Fiber.await(watcher)
    }

    const drainMillis = yield* elapsedSince(startedAt)
    yield* metrics.drainObserved(drainMillis)
    const members: Array<MemberReport> = []
    for (const entry of tracked) {
      const exit = Option.getOrUndefined(yield* entry.member.pollExit)
      members.push({
        name: entry.member.name,
        kind: entry.member.kind,
        pid: entry.member.pid,
        end: entry.forced
          ? MemberEnd.Forced({ millis: forcedAfter })
          : exitedBefore.has(entry)
          ? MemberEnd.AlreadyExited()
          : MemberEnd.Stopped({ millis: endedAfter.get(entry)! }),
        exit,
        clean: !entry.forced && exit !== undefined && Member.isCleanStop(entry.member, exit)
      })
    }
    const unjudged = {
      outcome,
      members,
      delayMillis,
      drainMillis,
      budgetMillis: Duration.toMillis(context.budget),
      budgetHeld: stragglers.length === 0,
      forcedBy: stragglers.length === 0 ? undefined : forcedBy
    }
    const report: ShutdownReport = { ...unjudged, verdict: verdictOf(unjudged) }
    yield* report.verdict === "drained" || report.verdict === "member-exited"
      ? Effect.logInfo(format(report))
      : Effect.logWarning(format(report))
    return report
  })

// How long the last flush of the parent's stdout and stderr may take: the report must get out,
// but a log reader that stopped reading cannot hold the exit forever.
const flushTimeout = Duration.seconds(1)

/**
 * Starts, races, drains, then hands the report to `finish` while still
 * protected from interruption, so that even an interrupted supervision can
 * turn its report into a typed failure.
 */
const superviseWith = <
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any>,
  A,
  E3
>(
  options: Options<Children, Servers>,
  finish: (report: ShutdownReport) => Effect.Effect<A, E3>
) =>
  Effect.gen(function*() {
    const budget = yield* Budget.make(options.budget)
    const drainDelay = yield* Budget.makeDrainDelay(options.drainDelay ?? 0, budget)
    const signals = yield* ShutdownSignal
    const output = yield* Output
    const state = yield* SupervisorState
    const metrics = yield* SupervisorMetrics
    const enter = (phase: Phase) => Effect.andThen(state.enter(phase), metrics.phaseEntered(phase))
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.acquireUseRelease(
        Scope.make("parallel"),
        (scope) =>
          Effect.gen(function*() {
            const context: Supervision = {
              scope,
              budget,
              tracked: [],
              watchers: new Map(),
              readiness: [],
              first: yield* Deferred.make<Outcome>(),
              anyEnd: yield* Deferred.make<void>()
            }
            const startedAt = yield* Clock.currentTimeMillis
            yield* metrics.phaseEntered("starting")
            const signalled = yield* Effect.forkDetach(
              Effect.flatMap(signals.await, (signal) => Deferred.succeed(context.first, Outcome.Signalled({ signal }))),
              { startImmediately: true }
            )
            const members: ReadonlyArray<
              Effect.Effect<Member.Member, Effect.Error<Children | Servers>, Effect.Services<Children | Servers>>
            > = [
              ...options.children,
              ...(options.servers ?? [])
            ]
            // The race: the first signal, or the first member to end or miss its start timeout, even
            // while the others start or get ready.
            const ready = Effect.gen(function*() {
              yield* startAll(members, context)
              yield* allReady(context.tracked)
              yield* metrics.startupObserved(yield* elapsedSince(startedAt))
              yield* enter("ready")
            })
            const started = yield* Effect.exit(restore(Effect.raceFirst(
              Effect.andThen(ready, Deferred.await(context.first)),
              Deferred.await(context.first)
            )))
            const outcome: Outcome = Exit.isSuccess(started)
              ? started.value
              : Cause.hasInterruptsOnly(started.cause)
              ? yield* outcomeOfInterruption
              : Outcome.StartFailed({ error: messageOf(Cause.squash(started.cause)) })
            // Ends after this are part of the drain, not the outcome.
            yield* Deferred.succeed(context.first, outcome)
            yield* Fiber.interrupt(signalled)
            yield* Fiber.interruptAll(context.readiness)
            yield* enter("draining")
            const delayMillis = yield* delayStopRequests(outcome, drainDelay, context.anyEnd)
            const report = yield* drain(context, outcome, delayMillis)
            yield* state.stop(report)
            yield* metrics.phaseEntered("stopped")
            yield* Effect.timeoutOption(output.flush, flushTimeout)
            if (Exit.isFailure(started) && !Cause.hasInterruptsOnly(started.cause)) {
              return yield* Effect.failCause(started.cause)
            }
            return yield* finish(report)
          }),
        // Whatever happened, every member's scope is closed: a member not yet stopped is stopped.
        (scope, exit) => Scope.close(scope, exit)
      )
    )
  })

/**
 * Supervises the members until a signal or a member's own end, drains them,
 * and returns the report. Fails only when a member cannot start (after the
 * started ones are drained). Interrupted from outside, it still drains
 * everything before the interruption takes effect.
 *
 * @since 0.1.0
 * @category supervision
 */
export const supervise = <
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any> = never
>(
  options: Options<Children, Servers>
) => superviseWith(options, Effect.succeed)

/**
 * Turns a report into the process outcome: success for a clean drain,
 * {@link MemberExitedError} when a member ended on its own,
 * {@link BudgetExceededError} when something had to be forced,
 * {@link DrainFailedError} when a member did not stop cleanly.
 *
 * @since 0.1.0
 * @category supervision
 */
export const check = (
  report: ShutdownReport
): Effect.Effect<ShutdownReport, MemberExitedError | StartFailedError | BudgetExceededError | DrainFailedError> => {
  switch (report.verdict) {
    case "member-exited":
      return Effect.fail(new MemberExitedError({ report }))
    case "start-failed":
      return Effect.fail(new StartFailedError({ report }))
    case "forced":
      return Effect.fail(new BudgetExceededError({ report }))
    case "drain-failed":
      return Effect.fail(new DrainFailedError({ report }))
    case "drained":
      return Effect.succeed(report)
  }
}

/**
 * {@link supervise} then {@link check}: the main program of a supervising
 * process. Under `NodeSupervisor.runMain` (or `NodeRuntime.runMain` with
 * `NodeSupervisor.teardown`) the process exits with `ShutdownReport.exitCodes`:
 * 0 after a clean drain, 1 when a member ended on its own, failed to start or
 * did not stop cleanly, 124 when something had to be forced.
 *
 * @since 0.1.0
 * @category supervision
 */
export const run = <
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any> = never
>(
  options: Options<Children, Servers>
) => superviseWith(options, check)
