/**
 * A member of the supervision tree: anything that can be asked to stop,
 * forced to stop, and awaited. Children and gRPC servers are members; so can
 * be any other resource a service needs drained with the rest.
 *
 * A member ends in two steps: its own end (`exit`: a process exits, a server
 * closes), which takes part in the supervisor's race, then everything of it
 * gone (`ended`: for a process, its whole process group and its output),
 * which is what the drain waits for.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Os from "node:os"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-supervise/Member" as const

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * How a member ended, in its own terms.
 *
 * @since 0.2.0
 * @category models
 */
export type End = Data.TaggedEnum<{
  /** A process exited with a code, or was killed by a signal. */
  Exited: { readonly code: number | null; readonly signal: string | null }
  /** A server or other resource closed. */
  Closed: {}
  /** The member failed: it reports why. */
  Failed: { readonly reason: string }
}>

/**
 * @since 0.2.0
 * @category constructors
 */
export const End = Data.taggedEnum<End>()

/**
 * @since 0.1.0
 * @category models
 */
export interface Member {
  readonly [TypeId]: TypeId
  readonly name: string
  /** What the member is, for reports ("child", "server", or your own word); never used to decide behaviour. */
  readonly kind: string
  /** The process id, for members that are processes. */
  readonly pid: number | undefined
  /** The signal a stop request sends, for members that are processes: dying by it is a clean stop. */
  readonly stopSignal: string | undefined
  /** Asks the member to stop and returns at once; asking again does nothing. */
  readonly requestStop: Effect.Effect<void>
  /** Stops the member now, without waiting for it to finish its work; returns at once. */
  readonly force: Effect.Effect<void>
  /** Completes with the member's own end: a process's exit, a server's close. */
  readonly exit: Effect.Effect<End>
  /** The member's own end, if it has come. */
  readonly pollExit: Effect.Effect<Option.Option<End>>
  /** Completes when everything of the member is gone (a process: its group and its output too). */
  readonly ended: Effect.Effect<void>
  readonly hasEnded: Effect.Effect<boolean>
  /** Completes when the member can do its work (a child that notified READY=1, a bound server). */
  readonly ready: Effect.Effect<void>
  /** How long the member may take to be ready before its start counts as failed; none when undefined. */
  readonly startTimeout: Duration.Duration | undefined
}

/**
 * Builds a member from what stopping it means. `requestStop` is made
 * idempotent and skipped once the member has ended; `force` is skipped once
 * it has ended. `onStopRequest` and `onForce` must not block. `ended`
 * defaults to `exit`; without `ready` the member is ready as soon as it is made.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly name: string
  readonly kind: string
  readonly pid?: number | undefined
  readonly stopSignal?: string | undefined
  readonly exit: Deferred.Deferred<End>
  readonly ended?: Deferred.Deferred<void> | undefined
  readonly ready?: Deferred.Deferred<void> | undefined
  readonly startTimeout?: Duration.Input | undefined
  readonly onStopRequest: Effect.Effect<void>
  readonly onForce: Effect.Effect<void>
}): Member => {
  let stopRequested = false
  const isEnded = options.ended === undefined
    ? () => Deferred.isDoneUnsafe(options.exit)
    : () => Deferred.isDoneUnsafe(options.ended!)
  return {
    [TypeId]: TypeId,
    name: options.name,
    kind: options.kind,
    pid: options.pid,
    stopSignal: options.stopSignal,
    requestStop: Effect.suspend(() => {
      if (stopRequested || isEnded()) return Effect.void
      stopRequested = true
      return options.onStopRequest
    }),
    force: Effect.suspend(() => isEnded() ? Effect.void : options.onForce),
    exit: Deferred.await(options.exit),
    pollExit: Effect.flatMap(Deferred.poll(options.exit), Option.match({
      onNone: () => Effect.succeedNone,
      onSome: Effect.asSome
    })),
    ended: options.ended === undefined ? Effect.asVoid(Deferred.await(options.exit)) : Deferred.await(options.ended),
    hasEnded: Effect.sync(isEnded),
    ready: options.ready === undefined ? Effect.void : Deferred.await(options.ready),
    startTimeout: options.startTimeout === undefined ? undefined : Duration.fromInputUnsafe(options.startTimeout)
  }
}

/**
 * Where a member announces itself the moment it exists. A supervisor starting
 * members provides it: a member whose start completes just as the supervision
 * is interrupted is then still tracked and drained, not lost between its
 * start and its registration. Outside a supervisor it does nothing.
 *
 * @since 0.2.0
 * @category references
 */
export const CurrentRegistry = Context.Reference<(member: Member) => Effect.Effect<void>>(
  "effect-supervise/Member/CurrentRegistry",
  { defaultValue: () => () => Effect.void }
)

/**
 * Announces a member to the supervisor starting it (see {@link CurrentRegistry});
 * call it from a member's constructor, in the same uninterruptible step that
 * created it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const register = (member: Member): Effect.Effect<void> =>
  Effect.gen(function*() {
    const registry = yield* CurrentRegistry
    yield* registry(member)
  })

/**
 * Completes once every member started before this one is ready; a
 * supervisor provides it while it starts members. Outside a supervisor it
 * completes at once.
 *
 * @since 0.2.0
 * @category references
 */
export const CurrentPredecessorsReady = Context.Reference<Effect.Effect<void>>(
  "effect-supervise/Member/CurrentPredecessorsReady",
  { defaultValue: () => Effect.void }
)

/**
 * Starts a member only once every member started before it is ready (say,
 * the API workers after the migrations child); members without it start at
 * once, one after the other. The wait can be cut short like the rest of the
 * start-up, by a signal or a member's end.
 *
 * @since 0.2.0
 * @category combinators
 */
export const afterReady = <A, E, R>(acquire: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    yield* yield* CurrentPredecessorsReady
    return yield* acquire
  })

/**
 * Whether an end after a stop request is a clean stop: a server closed, a
 * process exited 0, died by its own stop signal, or exited 128 + that
 * signal's number (how shells and the JVM report it).
 *
 * @since 0.2.0
 * @category predicates
 */
export const isCleanStop = (member: Pick<Member, "stopSignal">, end: End): boolean => {
  switch (end._tag) {
    case "Closed":
      return true
    case "Failed":
      return false
    case "Exited": {
      if (end.code === 0) return true
      if (member.stopSignal === undefined) return false
      if (end.signal !== null) return end.signal === member.stopSignal
      const number = Os.constants.signals[member.stopSignal as NodeJS.Signals]
      return number !== undefined && end.code === 128 + number
    }
  }
}

/**
 * One phrase for how a member ended: "exited with code 3", "killed by SIGSEGV", "closed".
 *
 * @since 0.2.0
 * @category formatting
 */
export const formatEnd: (end: End) => string = End.$match({
  Exited: ({ code, signal }) => signal === null ? `exited with code ${code}` : `killed by ${signal}`,
  Closed: () => "closed",
  Failed: ({ reason }) => `failed: ${reason}`
})
