/**
 * Prometheus metrics of the supervisor, kept in a prom-client `Registry` the
 * caller chooses. Updated on events (start, exit, drain), never by polling.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Prometheus from "prom-client"

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
  readonly registry: Prometheus.Registry
  readonly childStarted: (name: string) => Effect.Effect<void>
  readonly childExited: (name: string, reason: ExitReason) => Effect.Effect<void>
  readonly drainObserved: (millis: number) => Effect.Effect<void>
  /** Bytes of forwarded output dropped because the parent's stdout or stderr is broken. */
  readonly outputDropped: (target: "stdout" | "stderr", bytes: number) => Effect.Effect<void>
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
  outputDropped: "supervisor_output_dropped_bytes_total"
} as const

const existing = <M>(registry: Prometheus.Registry, name: string): M | undefined =>
  registry.getSingleMetric(name) as M | undefined

/**
 * Registers the metrics in `registry`, reusing them when a previous
 * supervisor already registered them there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (registry: Prometheus.Registry): Service => {
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
  return SupervisorMetrics.of({
    registry,
    childStarted: () => Effect.sync(() => alive.inc()),
    childExited: (name, reason) =>
      Effect.sync(() => {
        alive.dec()
        exits.inc({ child: name, reason })
      }),
    drainObserved: (millis) => Effect.sync(() => drain.observe(millis / 1000)),
    outputDropped: (stream, bytes) => Effect.sync(() => dropped.inc({ stream }, bytes))
  })
}

/**
 * Metrics in `registry`, by default prom-client's global registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (registry: Prometheus.Registry = Prometheus.register): Layer.Layer<SupervisorMetrics> =>
  Layer.sync(SupervisorMetrics, () => make(registry))

/**
 * Metrics in a fresh registry of their own, so tests do not share counters.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<SupervisorMetrics> = Layer.sync(
  SupervisorMetrics,
  () => make(new Prometheus.Registry())
)
