/**
 * Where the forwarded output of children goes: the parent's stdout and
 * stderr. A write waits until the destination took the bytes, so a child
 * that floods its pipe is slowed down instead of filling the parent's memory.
 * Output never ends supervision: once a destination is broken (EPIPE: the log
 * reader went away), what is written to it is dropped and counted.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Writable } from "node:stream"
import { SupervisorMetrics } from "./SupervisorMetrics.ts"

/**
 * @since 0.2.0
 * @category models
 */
export type Target = "stdout" | "stderr"

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Writes the pieces in order, as one vectored write, completing once the destination took them; never fails. */
  readonly write: (target: Target, pieces: ReadonlyArray<Uint8Array>) => Effect.Effect<void>
  /** Completes once everything written so far (log lines included) has left the process. */
  readonly flush: Effect.Effect<void>
}

/**
 * @since 0.2.0
 * @category services
 */
export class Output extends Context.Service<Output, Service>()("effect-supervise/Output") {}

interface Destination {
  readonly stream: Writable
  broken: boolean
}

// One error listener per stream for the life of the process: without one, an EPIPE on stdout
// (a closed pipe) is an uncaught error that kills the parent, and its children with it.
const guarded = new WeakMap<Writable, Destination>()

const destinationOf = (stream: Writable): Destination => {
  let destination = guarded.get(stream)
  if (destination === undefined) {
    const created: Destination = { stream, broken: false }
    stream.on("error", () => {
      created.broken = true
    })
    guarded.set(stream, created)
    destination = created
  }
  return destination
}

const isUsable = (destination: Destination) =>
  !destination.broken && !destination.stream.destroyed && destination.stream.writable

/**
 * Output to the given streams; dropped bytes are counted in `onDropped`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  streams: Record<Target, Writable>,
  onDropped: (target: Target, bytes: number) => void
): Service => {
  const destinations = { stdout: destinationOf(streams.stdout), stderr: destinationOf(streams.stderr) }
  const flushOne = (destination: Destination) =>
    Effect.callback<void>((resume) => {
      if (!isUsable(destination) || destination.stream.writableLength === 0) return resume(Effect.void)
      // An empty write completes after every write queued before it.
      destination.stream.write(new Uint8Array(0), () => resume(Effect.void))
    })
  return Output.of({
    write: (target, pieces) =>
      Effect.callback<void>((resume) => {
        const destination = destinations[target]
        const bytes = pieces.reduce((sum, piece) => sum + piece.length, 0)
        if (pieces.length === 0) return resume(Effect.void)
        if (!isUsable(destination)) {
          onDropped(target, bytes)
          return resume(Effect.void)
        }
        const last = pieces.length - 1
        // Corked, the pieces leave in one writev: slices of the child's chunk, never copied.
        destination.stream.cork()
        pieces.forEach((piece, index) =>
          destination.stream.write(piece, index < last ? undefined : (error) => {
            if (error) {
              destination.broken = true
              onDropped(target, bytes)
            }
            resume(Effect.void)
          })
        )
        destination.stream.uncork()
      }),
    flush: Effect.asVoid(Effect.all([flushOne(destinations.stdout), flushOne(destinations.stderr)], {
      concurrency: "unbounded"
    }))
  })
}

/**
 * The process's own stdout and stderr.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Output, never, SupervisorMetrics> = Layer.effect(
  Output,
  Effect.gen(function*() {
    const metrics = yield* SupervisorMetrics
    return make(
      { stdout: process.stdout, stderr: process.stderr },
      (target, bytes) => Effect.runSync(metrics.outputDropped(target, bytes))
    )
  })
)

/**
 * What a test layer captured.
 *
 * @since 0.2.0
 * @category services
 */
export class TestOutput extends Context.Service<TestOutput, {
  /** Everything written to `target` so far. */
  readonly bytes: (target: Target) => Effect.Effect<Uint8Array>
}>()("effect-supervise/TestOutput") {}

/**
 * Captures output in memory; read it with {@link TestOutput}.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest: Layer.Layer<Output | TestOutput> = Layer.effectContext(Effect.sync(() => {
  const captured: Record<Target, Array<Uint8Array>> = { stdout: [], stderr: [] }
  return Context.make(Output, Output.of({
    write: (target, pieces) => Effect.sync(() => void captured[target].push(...pieces.map((piece) => new Uint8Array(piece)))),
    flush: Effect.void
  })).pipe(Context.add(TestOutput, TestOutput.of({
    bytes: (target) => Effect.sync(() => Buffer.concat(captured[target]))
  })))
}))
