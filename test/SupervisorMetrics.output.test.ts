// The dropped-output counter, directly and as Output.layer feeds it when stdout breaks.
import { assert, describe, it, vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Writable } from "node:stream"
import * as Prometheus from "prom-client"
import * as Output from "../src/Output.ts"
import * as SupervisorMetrics from "../src/SupervisorMetrics.ts"

/** The counter's series in the registry's text exposition. */
const droppedSeries = async (registry: Prometheus.Registry) =>
  (await registry.metrics()).split("\n").filter((line) => line.startsWith(`${SupervisorMetrics.names.outputDropped}{`))
    .sort()

describe("SupervisorMetrics.outputDropped", () => {
  it("adds the dropped bytes to supervisor_output_dropped_bytes_total, per stream", async () => {
    const registry = new Prometheus.Registry()
    const metrics = await Effect.runPromise(SupervisorMetrics.make(registry))
    assert.deepStrictEqual(await droppedSeries(registry), [], "no series before anything is dropped")
    Effect.runSync(metrics.outputDropped("stderr", 10))
    Effect.runSync(metrics.outputDropped("stderr", 5))
    Effect.runSync(metrics.outputDropped("stdout", 3))
    assert.deepStrictEqual(await droppedSeries(registry), [
      "supervisor_output_dropped_bytes_total{stream=\"stderr\"} 15",
      "supervisor_output_dropped_bytes_total{stream=\"stdout\"} 3"
    ])
    assert.include(await registry.metrics(), "# TYPE supervisor_output_dropped_bytes_total counter")
  })

  it("Output.layer counts what it drops once the process's stdout is broken", async () => {
    const registry = new Prometheus.Registry()
    const metrics = await Effect.runPromise(SupervisorMetrics.make(registry))
    // Stand-ins for a broken stdout (its reader went away) and a working stderr, while the layer is built.
    const brokenStdout = new Writable({ write: (_chunk, _encoding, callback) => callback() })
    brokenStdout.destroy()
    const stderrChunks: Array<Buffer> = []
    const stderr = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        stderrChunks.push(chunk)
        callback()
      }
    })
    const out = vi.spyOn(process, "stdout", "get").mockReturnValue(brokenStdout as unknown as typeof process.stdout)
    const err = vi.spyOn(process, "stderr", "get").mockReturnValue(stderr as unknown as typeof process.stderr)
    let output: Output.Service
    try {
      output = Effect.runSync(Effect.provide(
        Effect.gen(function*() {
          return yield* Output.Output
        }),
        Output.layer.pipe(Layer.provide(Layer.succeed(SupervisorMetrics.SupervisorMetrics, metrics)))
      ))
    } finally {
      out.mockRestore()
      err.mockRestore()
    }
    await Effect.runPromise(output.write("stdout", [Buffer.from("[api] "), Buffer.from("lost\n")]))
    await Effect.runPromise(output.write("stderr", [Buffer.from("[api] kept\n")]))
    assert.deepStrictEqual(await droppedSeries(registry), ["supervisor_output_dropped_bytes_total{stream=\"stdout\"} 11"])
    assert.strictEqual(Buffer.concat(stderrChunks).toString(), "[api] kept\n")
  })
})
