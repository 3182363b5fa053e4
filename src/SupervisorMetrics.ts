/**
 * Prometheus metrics of the supervisor, kept in a prom-client `Registry` the
 * caller chooses. Updated on events (start, exit, drain), never by polling.
 * prom-client itself is loaded only when a metrics layer is built, so a
 * supervisor without metrics (`layerNoop`) does not pay for it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Prometheus from "prom-client"
import type { Phase } from "./SupervisorState.ts"

/**
 * How a child's exit relates to the supervisor: it exited on its own, after
 * its stop request, or after being forced.
 *
 * @since 0.1.0
 * @category models
 */
export type ExitReason = "unexpected" | "stopped" | "forced"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Where the metrics are; `undefined` for {@link layerNoop}. */
  readonly registry: Prometheus.Registry | undefined
  readonly childStarted: (name: string) => Effect.Effect<void>
  readonly childExited: (name: string, reason: ExitReason) => Effect.Effect<void>
  readonly drainObserved: (millis: number) => Effect.Effect<void>
  /** Bytes of forwarded output dropped because the parent's stdout or stderr is broken. */
  readonly outputDropped: (target: "stdout" | "stderr", bytes: number) => Effect.Effect<void>
  /** A child became ready (+1), or a ready child exited (-1). */
  readonly childrenReadyChanged: (delta: number) => Effect.Effect<void>
  /** From the start to every member ready. */
  readonly startupObserved: (millis: number) => Effect.Effect<void>
  /** The supervision entered `phase`. */
  readonly phaseEntered: (phase: Phase) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category services
 */
export class SupervisorMetrics extends Context.Service<SupervisorMetrics, Service>()(
  "effect-supervise/SupervisorMetrics"
) {}

/**
 * The metric names, for dashboards and alerts.
 *
 * @since 0.1.0
 * @category constants
 */
export const names = {
  childrenAlive: "supervised_children_alive",
  childExits: "supervised_child_exits_total",
  drainDuration: "supervisor_drain_duration_seconds",
  outputDropped: "supervisor_output_dropped_bytes_total",
  childrenReady: "supervised_children_ready",
  startupDuration: "supervisor_startup_duration_seconds",
  state: "supervisor_state"
} as const

const phases: ReadonlyArray<Phase> = ["starting", "ready", "draining", "stopped"]

const existing = <M>(registry: Prometheus.Registry, name: string): M | undefined =>
  registry.getSingleMetric(name) as M | undefined

/**
 * Registers the metrics in `registry`, reusing them when a previous
 * supervisor already registered them there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (registry?: Prometheus.Registry | undefined): Effect.Effect<Service> =>
  Effect.map(Effect.promise(() => import("prom-client")), (prometheus) => makeWith(prometheus, registry ?? prometheus.register))

const makeWith = (Prometheus: typeof import("prom-client"), registry: Prometheus.Registry): Service => {
  const alive = existing<Prometheus.Gauge>(registry, names.childrenAlive) ?? new Prometheus.Gauge({
    name: names.childrenAlive,
    help: "Supervised child processes currently alive.",
    registers: [registry]
  })
  const exits = existing<Prometheus.Counter<"child" | "reason">>(registry, names.childExits) ??
    new Prometheus.Counter({
      name: names.childExits,
      help: "Exits of supervised child processes, by child and by reason (unexpected, stopped, forced).",
      labelNames: ["child", "reason"],
      registers: [registry]
    })
  const drain = existing<Prometheus.Histogram>(registry, names.drainDuration) ?? new Prometheus.Histogram({
    name: names.drainDuration,
    help: "Time from the first stop request to every member stopped or forced.",
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
    registers: [registry]
  })
  const dropped = existing<Prometheus.Counter<"stream">>(registry, names.outputDropped) ??
    new Prometheus.Counter({
      name: names.outputDropped,
      help: "Bytes of children's output dropped because the supervisor's stdout or stderr is broken (EPIPE).",
      labelNames: ["stream"],
      registers: [registry]
    })
  const ready = existing<Prometheus.Gauge>(registry, names.childrenReady) ?? new Prometheus.Gauge({
    name: names.childrenReady,
    help: "Supervised child processes alive and ready (spawned, or READY=1 received).",
    registers: [registry]
  })
  const startup = existing<Prometheus.Histogram>(registry, names.startupDuration) ?? new Prometheus.Histogram({
    name: names.startupDuration,
    help: "Time from the start of the supervision to every member ready.",
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry]
  })
  const state = existing<Prometheus.Gauge<"state">>(registry, names.state) ?? new Prometheus.Gauge({
    name: names.state,
    help: "The supervision's phase: 1 for the current one (starting, ready, draining, stopped), 0 for the others.",
    labelNames: ["state"],
    registers: [registry]
  })
  return SupervisorMetrics.of({
    registry,
    childStarted: () => Effect.sync(() => alive.inc()),
    childExited: (name, reason) =>
      Effect.sync(() => {
        alive.dec()
        exits.inc({ child: name, reason })
      }),
    drainObserved: (millis) => Effect.sync(() => drain.observe(millis / 1000)),
    outputDropped: (stream, bytes) => Effect.sync(() => dropped.inc({ stream }, bytes)),
    childrenReadyChanged: (delta) => Effect.sync(() => ready.inc(delta)),
    startupObserved: (millis) => Effect.sync(() => startup.observe(millis / 1000)),
    phaseEntered: (phase) => Effect.sync(() => phases.forEach((each) => state.set({ state: each }, each === phase ? 1 : 0)))
  })
}

/**
 * Metrics in `registry`, by default prom-client's global registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (registry?: Prometheus.Registry | undefined): Layer.Layer<SupervisorMetrics> =>
  Layer.effect(SupervisorMetrics, make(registry))

/**
 * Metrics in a fresh registry of their own, so tests do not share counters.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<SupervisorMetrics> = Layer.effect(
  SupervisorMetrics,
  Effect.map(Effect.promise(() => import("prom-client")), (prometheus) => makeWith(prometheus, new prometheus.Registry()))
)

/**
 * No metrics, and prom-client never loaded: for a supervisor nobody scrapes.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerNoop: Layer.Layer<SupervisorMetrics> = Layer.succeed(
  SupervisorMetrics,
  SupervisorMetrics.of({
    registry: undefined,
    childStarted: () => Effect.void,
    childExited: () => Effect.void,
    drainObserved: () => Effect.void,
    outputDropped: () => Effect.void,
    childrenReadyChanged: () => Effect.void,
    startupObserved: () => Effect.void,
    phaseEntered: () => Effect.void
  })
)
