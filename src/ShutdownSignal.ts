/**
 * The process-wide shutdown request: the first SIGTERM or SIGINT asks for a
 * graceful drain, a second one asks to force whatever is still running.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * The signals that ask the supervisor to shut down.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = "SIGTERM" | "SIGINT"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Completes with the first signal received. */
  readonly await: Effect.Effect<Signal>
  /** Completes with the second signal received: "stop waiting, force now". */
  readonly awaitSecond: Effect.Effect<Signal>
  /** The first signal, if one has been received. */
  readonly poll: Effect.Effect<Option.Option<Signal>>
  /** Records a received signal; the live layer calls it from Node's signal listeners, tests call it directly. */
  readonly deliver: (signal: Signal) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category services
 */
export class ShutdownSignal extends Context.Service<ShutdownSignal, Service>()("effect-supervise/ShutdownSignal") {}

/**
 * Builds the signal state, independent of where signals come from.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  const first = Deferred.makeUnsafe<Signal>()
  const second = Deferred.makeUnsafe<Signal>()
  let received = Option.none<Signal>()
  return ShutdownSignal.of({
    await: Deferred.await(first),
    awaitSecond: Deferred.await(second),
    poll: Effect.sync(() => received),
    deliver: (signal) =>
      Effect.sync(() => {
        if (Option.isNone(received)) {
          received = Option.some(signal)
          Deferred.doneUnsafe(first, Effect.succeed(signal))
        } else {
          Deferred.doneUnsafe(second, Effect.succeed(signal))
        }
      })
  })
})

/**
 * Delivers `signal` to the current {@link ShutdownSignal}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const deliver = (signal: Signal): Effect.Effect<void, never, ShutdownSignal> =>
  ShutdownSignal.use((service) => service.deliver(signal))

const nodeSignals: ReadonlyArray<Signal> = ["SIGTERM", "SIGINT"]

/**
 * Listens to the Node process's SIGTERM and SIGINT; the listeners are removed
 * when the layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ShutdownSignal> = Layer.effect(
  ShutdownSignal,
  Effect.gen(function*() {
    const service = yield* make
    const listener = (signal: NodeJS.Signals) => Effect.runSync(service.deliver(signal as Signal))
    yield* Effect.acquireRelease(
      // Ahead of NodeRuntime.runMain's own listener, which interrupts the main fiber:
      // by then the signal is recorded, so the interruption is reported as that signal.
      Effect.sync(() => nodeSignals.forEach((signal) => process.prependListener(signal, listener))),
      () => Effect.sync(() => nodeSignals.forEach((signal) => process.off(signal, listener)))
    )
    return service
  })
)

/**
 * No OS listeners: a test delivers signals with {@link deliver}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<ShutdownSignal> = Layer.effect(ShutdownSignal, make)
