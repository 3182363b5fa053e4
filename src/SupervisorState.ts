/**
 * Where a supervision is in its life: `starting` (members being started),
 * `ready` (every member started and ready), `draining` (from the first signal
 * or a member's own end), `stopped` (every member ended). Phases only move
 * forward. Health endpoints and tests read it.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ShutdownReport } from "./ShutdownReport.ts"

/**
 * @since 0.2.0
 * @category models
 */
export type Phase = "starting" | "ready" | "draining" | "stopped"

const order: ReadonlyArray<Phase> = ["starting", "ready", "draining", "stopped"]

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** The phase now. */
  readonly phase: Effect.Effect<Phase>
  /** The phase now, outside of Effect (for a request handler). */
  readonly phaseUnsafe: () => Phase
  /** Completes once the phase is `phase` or a later one. */
  readonly reached: (phase: Phase) => Effect.Effect<void>
  /** Moves to `phase`; moving back is ignored. */
  readonly enter: (phase: Phase) => Effect.Effect<void>
  /** Moves to `stopped`, with the supervision's report. */
  readonly stop: (report: ShutdownReport) => Effect.Effect<void>
  /** The report, once stopped (for a teardown, outside of Effect). */
  readonly reportUnsafe: () => ShutdownReport | undefined
}

/**
 * @since 0.2.0
 * @category services
 */
export class SupervisorState extends Context.Service<SupervisorState, Service>()("effect-supervise/SupervisorState") {}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  let current = 0
  let report: ShutdownReport | undefined
  const reached = order.map(() => Deferred.makeUnsafe<void>())
  Deferred.doneUnsafe(reached[0], Effect.void)
  const enterUnsafe = (phase: Phase) => {
    const index = order.indexOf(phase)
    if (index <= current) return
    current = index
    for (let i = 0; i <= index; i++) Deferred.doneUnsafe(reached[i], Effect.void)
  }
  return SupervisorState.of({
    phase: Effect.sync(() => order[current]),
    phaseUnsafe: () => order[current],
    reached: (phase) => Deferred.await(reached[order.indexOf(phase)]),
    enter: (phase) => Effect.sync(() => enterUnsafe(phase)),
    stop: (final) =>
      Effect.sync(() => {
        report = final
        enterUnsafe("stopped")
      }),
    reportUnsafe: () => report
  })
})

/**
 * A fresh state for one supervision.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<SupervisorState> = Layer.effect(SupervisorState, make)

/**
 * Completes once the supervision has reached `phase`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const reached = (phase: Phase): Effect.Effect<void, never, SupervisorState> =>
  SupervisorState.use((state) => state.reached(phase))
