/**
 * A member of the supervision tree: anything that can be asked to stop,
 * forced to stop, and awaited. Children and gRPC servers are members; so can
 * be any other resource a service needs drained with the rest.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Kind = "child" | "server"

/**
 * @since 0.1.0
 * @category models
 */
export interface Member {
  readonly name: string
  readonly kind: Kind
  /** The process id, for members that are processes. */
  readonly pid: number | undefined
  /** Asks the member to stop and returns at once; asking again does nothing. */
  readonly requestStop: Effect.Effect<void>
  /** Stops the member now, without waiting for it to finish its work. */
  readonly force: Effect.Effect<void>
  /** Completes when the member has stopped, whatever stopped it. */
  readonly ended: Effect.Effect<void>
  readonly hasEnded: Effect.Effect<boolean>
}

/**
 * Builds a member from what stopping it means. `requestStop` is made
 * idempotent and skipped once the member has ended; `onStopRequest` and
 * `onForce` must not block.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly name: string
  readonly kind: Kind
  readonly pid?: number | undefined
  readonly ended: Deferred.Deferred<void>
  readonly onStopRequest: Effect.Effect<void>
  readonly onForce: Effect.Effect<void>
}): Member => {
  let stopRequested = false
  const hasEnded = Deferred.isDone(options.ended)
  return {
    name: options.name,
    kind: options.kind,
    pid: options.pid,
    requestStop: Effect.suspend(() => {
      if (stopRequested || Deferred.isDoneUnsafe(options.ended)) return Effect.void
      stopRequested = true
      return options.onStopRequest
    }),
    force: Effect.suspend(() => Deferred.isDoneUnsafe(options.ended) ? Effect.void : options.onForce),
    ended: Deferred.await(options.ended),
    hasEnded
  }
}
