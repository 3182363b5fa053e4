import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Prometheus from "prom-client"
import * as NodeSupervisor from "../src/NodeSupervisor.ts"
import { ShutdownSignal } from "../src/ShutdownSignal.ts"
import { SupervisorMetrics } from "../src/SupervisorMetrics.ts"

const printSpawned = ChildProcess.make(process.execPath, ["-e", "console.log('spawned')"])

describe("NodeSupervisor", () => {
  it.effect("one layer provides the spawner, the Node signals and metrics in the registry given", () => {
    const registry = new Prometheus.Registry()
    return Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      assert.strictEqual(yield* spawner.string(printSpawned), "spawned\n")
      yield* ShutdownSignal
      assert.strictEqual((yield* SupervisorMetrics).registry, registry)
    }).pipe(Effect.provide(NodeSupervisor.layer({ registry })))
  })

  it("runMain runs the program with the layer and leaves no signal listener behind", async () => {
    const listeners = () => [process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]
    const before = listeners()
    const registry = new Prometheus.Registry()
    const seen = await new Promise<Prometheus.Registry | undefined>((resolve) =>
      NodeSupervisor.runMain(SupervisorMetrics.use((metrics) => Effect.sync(() => resolve(metrics.registry))), { registry })
    )
    assert.strictEqual(seen, registry)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepStrictEqual(listeners(), before)
  })
})
