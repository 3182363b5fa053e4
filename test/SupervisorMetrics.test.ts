import { assert, describe, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as Prometheus from "prom-client"
import * as Child from "../src/Child.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as SupervisorMetrics from "../src/SupervisorMetrics.ts"
import * as Output from "../src/Output.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { superviseStarted } from "./helpers/testClock.ts"

/** The registry's text exposition, restricted to the supervisor's own series. */
const scrape = (registry: Prometheus.Registry) =>
  Effect.promise(() => registry.metrics()).pipe(
    Effect.map((text) =>
      text.split("\n").filter((line) =>
        /^(supervised_children_alive|supervised_child_exits_total|supervisor_drain_duration_seconds_(count|sum)) ?/.test(line)
      ).sort()
    )
  )

const sorted = (lines: Array<string>) => lines.sort()

describe("SupervisorMetrics", () => {
  it.effect("gauge, exit counter and drain histogram follow starts, exits and the drain", () => {
    const registry = new Prometheus.Registry()
    return Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: ["api", "worker", "stubborn"].map((name) => Child.make({ name, command: name })),
        budget: "10 seconds"
      })
      assert.deepStrictEqual(yield* scrape(registry), sorted([
        "supervised_children_alive 3",
        "supervisor_drain_duration_seconds_sum 0",
        "supervisor_drain_duration_seconds_count 0"
      ]))

      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* scrape(registry), sorted([
        "supervised_children_alive 1",
        "supervised_child_exits_total{child=\"worker\",reason=\"unexpected\"} 1",
        "supervised_child_exits_total{child=\"api\",reason=\"stopped\"} 1",
        "supervisor_drain_duration_seconds_sum 0",
        "supervisor_drain_duration_seconds_count 0"
      ]))

      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* scrape(registry), sorted([
        "supervised_children_alive 0",
        "supervised_child_exits_total{child=\"worker\",reason=\"unexpected\"} 1",
        "supervised_child_exits_total{child=\"api\",reason=\"stopped\"} 1",
        "supervised_child_exits_total{child=\"stubborn\",reason=\"forced\"} 1",
        "supervisor_drain_duration_seconds_sum 10",
        "supervisor_drain_duration_seconds_count 1"
      ]))
    }).pipe(Effect.provide(Layer.mergeAll(
      TestSpawner.layer({ api: {}, worker: { exitAfter: "1 second" }, stubborn: { ignoresSigterm: true } }),
      ShutdownSignal.layerTest,
      SupervisorMetrics.layer(registry),
      Output.layerTest,
      SupervisorState.layer,
      NodeFileSystem.layer
    )))
  })

  it("a second supervisor in the same registry reuses the metrics instead of failing to register them", async () => {
    const registry = new Prometheus.Registry()
    const first = await Effect.runPromise(SupervisorMetrics.make(registry))
    const second = await Effect.runPromise(SupervisorMetrics.make(registry))
    Effect.runSync(first.childStarted("a"))
    Effect.runSync(second.childStarted("b"))
    assert.strictEqual(registry.getMetricsAsArray().length, Object.keys(SupervisorMetrics.names).length)
    return registry.getSingleMetricAsString(SupervisorMetrics.names.childrenAlive).then((text) =>
      assert.include(text, "supervised_children_alive 2")
    )
  })

  it("the default layer uses prom-client's global registry", () =>
    Effect.runPromise(
      SupervisorMetrics.SupervisorMetrics.use((metrics) =>
        Effect.sync(() => assert.strictEqual(metrics.registry, Prometheus.register))
      ).pipe(Effect.provide(SupervisorMetrics.layer()))
    ))
})

describe("SupervisorMetrics.layerNoop", () => {
  it.effect("keeps nothing, and has no registry to scrape", () =>
    Effect.gen(function*() {
      const metrics = yield* SupervisorMetrics.SupervisorMetrics
      assert.isUndefined(metrics.registry)
      yield* metrics.childStarted("a")
      yield* metrics.childExited("a", "stopped")
      yield* metrics.drainObserved(5)
      yield* metrics.outputDropped("stdout", 5)
      yield* metrics.childrenReadyChanged(1)
      yield* metrics.startupObserved(5)
      yield* metrics.phaseEntered("ready")
    }).pipe(Effect.provide(SupervisorMetrics.layerNoop)))
})
