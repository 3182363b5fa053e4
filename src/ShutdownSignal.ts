/**
 * The process-wide shutdown request: the first drain signal (by default
 * SIGTERM, SIGINT, SIGHUP or SIGQUIT) asks for a graceful drain, a second one
 * asks to force whatever is still running. While the layer lives, every other
 * signal whose default action would kill the parent is caught and ignored
 * (logged), so that nothing but a drain ends a supervisor with children
 * running.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EarlySignals from "./EarlySignals.ts"

/**
 * A signal name, such as `"SIGTERM"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = string

/**
 * The signals that ask for a drain unless configured otherwise: SIGTERM
 * (Kubernetes, Docker), SIGINT (Ctrl-C), SIGHUP (a closed terminal or
 * session) and SIGQUIT (a common image `STOPSIGNAL`).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultSignals: ReadonlyArray<Signal> = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"]

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

/**
 * Listens to the Node process's drain signals (`signals`, by default
 * {@link defaultSignals}) and ignores, with a warning, every other signal in
 * `EarlySignals.caught`. Signals caught by `EarlySignals` before the layer was
 * built are delivered first. The listeners are removed when the layer's scope
 * closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: { readonly signals?: ReadonlyArray<Signal> | undefined }): Layer.Layer<ShutdownSignal> =>
  Layer.effect(
    ShutdownSignal,
    Effect.gen(function*() {
      const service = yield* make
      const context = yield* Effect.context<never>()
      const drainSignals = new Set(options?.signals ?? defaultSignals)
      const ignored = EarlySignals.caught.filter((signal) => !drainSignals.has(signal))
      const onSignal = (signal: NodeJS.Signals) =>
        drainSignals.has(signal)
          ? Effect.runSync(service.deliver(signal))
          : Effect.runForkWith(context)(Effect.logWarning(`received ${signal}: ignored, it is not a drain signal`))
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          // Ahead of NodeRuntime.runMain's own listener, which interrupts the main fiber:
          // by then the signal is recorded, so the interruption is reported as that signal.
          for (const signal of [...drainSignals, ...ignored]) process.prependListener(signal as NodeJS.Signals, onSignal)
          for (const signal of EarlySignals.takeOver()) onSignal(signal)
        }),
        () => Effect.sync(() => [...drainSignals, ...ignored].forEach((signal) => process.off(signal, onSignal)))
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
