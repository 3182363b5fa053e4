/**
 * The child side of supervision: what a supervised Effect program runs
 * instead of `NodeRuntime.runMain`. SIGTERM, SIGINT, SIGHUP or SIGQUIT (a
 * supervisor's stop signal may be any of them), or EOF on the lifeline
 * fd (the parent died, even by SIGKILL), interrupts the main fiber so its
 * finalizers drain it; the process then exits 0. The drain is bounded by a
 * timeout of its own, since a dead parent can no longer force it; a second
 * signal during the drain is ignored (forcing is the supervisor's SIGKILL).
 *
 * Why a lifeline pipe rather than IPC disconnect or ppid polling: EOF on an
 * inherited fd is reported by the kernel the moment the parent's last copy of
 * the other end closes, whatever killed it; it needs no polling interval, no
 * Node IPC channel, and any language can `read(3)` or `poll` it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as Net from "node:net"
import type { Readable, Writable } from "node:stream"
import { budgetVariable, lifelineVariable } from "./internal/childEnvironment.ts"
import { flushStdio } from "./internal/flushStdio.ts"

/**
 * Why the child began its drain.
 *
 * @since 0.1.0
 * @category models
 */
export type StopReason = Data.TaggedEnum<{
  /** The supervisor (or someone) asked for a graceful stop. */
  Signalled: { readonly signal: Signal }
  /** EOF or an error on the lifeline: the parent is gone. */
  ParentGone: { readonly detail: string }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const StopReason = Data.taggedEnum<StopReason>()

/**
 * @since 0.1.0
 * @category models
 */
export type Signal = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGQUIT"

/**
 * How the supervised program ended without failing.
 *
 * @since 0.1.0
 * @category models
 */
export type Result<A> = Data.TaggedEnum<{
  /** The main effect finished by itself. */
  Completed: { readonly value: A }
  /** A stop reason interrupted the main effect, and its finalizers finished in `millis`. */
  Drained: { readonly reason: StopReason; readonly millis: number }
}>

/**
 * Where signals come from: registers a listener, returns its removal.
 *
 * @since 0.1.0
 * @category models
 */
export type SignalSource = (listener: (signal: Signal) => void) => () => void

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How long the drain may take before the child gives up (exit 124). Default:
   * 1 s past the supervisor's budget from `SUPERVISOR_BUDGET_MS` when set, else 30 seconds.
   */
  readonly drainTimeout?: Duration.Input | undefined
  /**
   * The lifeline: a stream whose end means the parent is gone, an fd to read,
   * or `false` for none. Default: the fd named by `SUPERVISOR_LIFELINE_FD`, none when unset.
   */
  readonly lifeline?: Readable | number | false | undefined
  /** Default: the process's SIGTERM, SIGINT, SIGHUP and SIGQUIT. */
  readonly signals?: SignalSource | undefined
  /** Default: `process.env`. */
  readonly env?: Record<string, string | undefined> | undefined
}

/**
 * The lifeline named in the environment cannot be read: not a number, not an
 * open pipe or socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class LifelineError extends Data.TaggedError("LifelineError")<{
  readonly fd: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `Cannot read the lifeline fd ${this.fd} (${lifelineVariable}): ${
      this.cause instanceof Error ? this.cause.message : String(this.cause)
    }`
  }
}

/**
 * The drain outlasted its timeout; the process exits 124, as `timeout(1)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class DrainTimeoutError extends Data.TaggedError("DrainTimeoutError")<{
  readonly reason: StopReason
  readonly timeoutMillis: number
}> {
  override readonly [Runtime.errorExitCode] = 124
  override get message(): string {
    return `drain after ${formatReason(this.reason)} did not finish within ${this.timeoutMillis} ms`
  }
}


const defaultDrainTimeout = Duration.seconds(30)
// How long the exit waits for stdout and stderr to be written out.
const flushMillis = 1_000
const budgetGraceMillis = 1_000

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatReason: (reason: StopReason) => string = StopReason.$match({
  Signalled: ({ signal }) => `received ${signal}`,
  ParentGone: ({ detail }) => `parent gone (${detail})`
})

/**
 * The process's SIGTERM, SIGINT, SIGHUP and SIGQUIT. A listener also stops Node's default
 * action (exit at once), which is what lets the drain run.
 *
 * @since 0.1.0
 * @category constructors
 */
export const processSignals: SignalSource = (listener) => {
  const handlers = (["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const).map((signal) => {
    const handler = () => listener(signal)
    process.on(signal, handler)
    return [signal, handler] as const
  })
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler))
}

/**
 * Opens a lifeline fd as a readable stream (a pipe or a socket; a regular
 * file has no EOF-on-death meaning and is refused).
 *
 * @since 0.1.0
 * @category constructors
 */
export const openLifeline = (fd: string): Effect.Effect<Readable, LifelineError> =>
  Effect.try({
    try: () => {
      const number = Number(fd)
      if (!Number.isInteger(number) || number < 0) throw new Error("not an fd number")
      // Writable too: the child tells its readiness on it (notifyReady).
      return new Net.Socket({ fd: number, readable: true, writable: true, allowHalfOpen: true })
    },
    catch: (cause) => new LifelineError({ fd, cause })
  })

/**
 * Completes when the stream ends, errors or closes: the parent is gone. Data
 * on it is ignored. The stream is destroyed when the waiting stops, so it
 * does not keep the process alive.
 *
 * @since 0.1.0
 * @category combinators
 */
export const awaitParentGone = (stream: Readable): Effect.Effect<StopReason> =>
  Effect.callback<StopReason>((resume) => {
    const gone = (detail: string) => () => resume(Effect.succeed(StopReason.ParentGone({ detail })))
    const onEnd = gone("EOF on the lifeline")
    const onClose = gone("lifeline closed")
    const onError = (error: Error) => gone(`lifeline error: ${error.message}`)()
    stream.on("end", onEnd).on("close", onClose).on("error", onError)
    // Reading is what makes the end observable.
    stream.resume()
    return Effect.sync(() => stream.off("end", onEnd).off("close", onClose).off("error", onError))
  }).pipe(
    Effect.ensuring(Effect.sync(() => stream.destroy()))
  )

// Where notifyReady writes: the lifeline of the run in progress, if it can be written to.
let notifier: ((line: string) => void) | undefined

const lifelineOf = (options: Options, env: Record<string, string | undefined>) => {
  const lifeline = options.lifeline ?? env[lifelineVariable]
  if (lifeline === undefined || lifeline === false) return Effect.succeed(Effect.never)
  const stream: Effect.Effect<Readable, LifelineError> = typeof lifeline === "object"
    ? Effect.succeed(lifeline)
    : openLifeline(String(lifeline))
  return Effect.map(stream, (stream) => {
    const writable = stream as Readable & Partial<Pick<Writable, "write" | "writable">>
    notifier = typeof writable.write === "function"
      // A destroyed stream's write fails with an error event nobody listens to any more.
      ? (line) => void (stream.destroyed || writable.writable === false ? undefined : writable.write!(line))
      : undefined
    return awaitParentGone(stream)
  })
}

/**
 * Tells the supervisor this child is ready (for a child started with
 * `readiness: "notify"`): writes `READY=1` on the lifeline, as sd_notify
 * does. Outside a supervisor, or before `run` has opened the lifeline, it
 * does nothing.
 *
 * @since 0.2.0
 * @category readiness
 */
export const notifyReady: Effect.Effect<void> = Effect.sync(() => notifier?.("READY=1\n"))

const drainTimeoutOf = (options: Options, env: Record<string, string | undefined>): Duration.Duration => {
  if (options.drainTimeout !== undefined) return Duration.fromInputUnsafe(options.drainTimeout)
  const budget = Number(env[budgetVariable])
  // A moment past the budget: while the supervisor lives, its own force (reported as such) comes first.
  return Number.isFinite(budget) && budget > 0 ? Duration.millis(budget + budgetGraceMillis) : defaultDrainTimeout
}

/**
 * Runs `main` until it finishes or a stop reason arrives; on a stop reason,
 * interrupts it and waits for its finalizers, up to the drain timeout. An
 * uninterruptible region of `main` (a job in hand) finishes first.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <A, E, R>(
  main: Effect.Effect<A, E, R>,
  options: Options = {}
): Effect.Effect<Result<A>, E | LifelineError | DrainTimeoutError, R> =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const timeout = drainTimeoutOf(options, env)
    const parentGone = yield* lifelineOf(options, env)
    // Read once and removed, as systemd does with LISTEN_FDS: a process this child starts must
    // not take fd 3, which is something else there, for a lifeline.
    delete env[lifelineVariable]
    delete env[budgetVariable]
    const stop = yield* Deferred.make<StopReason>()
    const signals = options.signals ?? processSignals
    // Both watched before main starts, so an early stop is not lost, and until the run ends: a
    // second signal during the drain finds a listener and is ignored (the first reason stands;
    // the drain has its timeout, and the supervisor forces with SIGKILL).
    yield* Effect.acquireRelease(
      Effect.sync(() => signals((signal) => Deferred.doneUnsafe(stop, Effect.succeed(StopReason.Signalled({ signal }))))),
      (remove) => Effect.sync(remove)
    )
    yield* Effect.forkScoped(Effect.flatMap(parentGone, (reason) => Deferred.succeed(stop, reason)), {
      startImmediately: true
    })
    // Detached, so that a drain stuck past its timeout cannot hold this fiber's own exit.
    const fiber = yield* Effect.forkDetach(main, { startImmediately: true })
    const first = yield* Effect.raceFirst(
      Effect.map(Fiber.await(fiber), (exit) => ({ _tag: "Exit" as const, exit })),
      Effect.map(Deferred.await(stop), (reason) => ({ _tag: "Stop" as const, reason }))
    ).pipe(
      // Interrupted from outside, the main is interrupted too, and drained before this ends.
      Effect.onInterrupt(() => Fiber.interrupt(fiber))
    )
    if (first._tag === "Exit") {
      return yield* Exit.map(first.exit, (value): Result<A> => ({ _tag: "Completed", value }))
    }
    const reason = first.reason
    yield* Effect.logInfo(`${formatReason(reason)}, draining`)
    const startedAt = Date.now()
    // Interrupt without waiting here: the timeout must be able to end the wait for a stuck finalizer.
    fiber.interruptUnsafe()
    const drained = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(timeout))
    if (drained._tag === "None") {
      return yield* new DrainTimeoutError({ reason, timeoutMillis: Duration.toMillis(timeout) })
    }
    const millis = Date.now() - startedAt
    yield* Effect.logInfo(`drained in ${millis} ms`)
    // A failure in a finalizer is still a failure of the drain.
    const exit = drained.value
    if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
    return { _tag: "Drained", reason, millis } satisfies Result<A>
  }).pipe(Effect.scoped)

// Once the parent is gone, writes to a prefixed stdout fail with EPIPE; the drain must go on.
const ignoreEpipe = (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
}

/**
 * Runs a supervised child's main program: {@link run}, then exits with 0
 * after a drain or a normal end, 124 when the drain timed out, and the
 * error's code (default 1) when `main` failed. Use instead of
 * `NodeRuntime.runMain`, whose SIGTERM interruption would exit 130.
 *
 * @since 0.1.0
 * @category runtime
 */
export const runMain = <A, E>(
  main: Effect.Effect<A, E>,
  options: Options & { readonly exit?: ((code: number) => void) | undefined } = {}
): void => {
  process.stdout.on("error", ignoreEpipe)
  process.stderr.on("error", ignoreEpipe)
  // Always exit, even when a handle (a keep-alive socket, a stray timer) would keep a drained child
  // alive; once stdout and stderr are written out, since the supervisor forwards them to the end.
  const exit = options.exit ?? ((code: number) => flushStdio(flushMillis, () => process.exit(code)))
  Runtime.makeRunMain(({ fiber, teardown }) => {
    fiber.addObserver((result) => teardown(result, exit))
  })(run(main, options))
}
