/**
 * A scripted `ChildProcessSpawner` for deterministic tests under `TestClock`:
 * each command behaves as its script says (exit on its own, drain for a while
 * after SIGTERM, ignore SIGTERM, fail to spawn), and every signal it receives
 * is recorded with the clock time.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { constant } from "effect/Function"
import * as Layer from "effect/Layer"
import * as PlatformError from "effect/PlatformError"
import type * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner, ExitCode, make as makeSpawner, makeHandle, ProcessId } from "effect/process/ChildProcessSpawner"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"

/**
 * How a scripted process behaves.
 *
 * @since 0.1.0
 * @category models
 */
export interface Script {
  /** Exits on its own this long after it started. */
  readonly exitAfter?: Duration.Input | undefined
  /** The code it exits with on its own; 1 unless `exitSignal` is set. */
  readonly exitCode?: number | undefined
  /** Dies on its own by this signal instead of exiting with a code. */
  readonly exitSignal?: string | undefined
  /** How long it drains after SIGTERM before exiting with code 0. */
  readonly drainFor?: Duration.Input | undefined
  /** Keeps running after SIGTERM; only SIGKILL ends it. */
  readonly ignoresSigterm?: boolean | undefined
  /** The spawn itself fails, as a missing or non-executable file does. */
  readonly failsToSpawn?: "NotFound" | "PermissionDenied" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Event {
  /** Clock time in milliseconds. */
  readonly at: number
  readonly command: string
  readonly pid: number
  readonly kind: "spawned" | "SIGTERM" | "SIGKILL" | "exited" | "reaped"
  readonly code?: number | null
  readonly signal?: string | null
}

/**
 * @since 0.1.0
 * @category services
 */
export class TestSpawner extends Context.Service<TestSpawner, {
  /** Every event so far, in order. */
  readonly events: Effect.Effect<ReadonlyArray<Event>>
}>()("effect-supervise/testing/TestSpawner") {}

/**
 * The events recorded so far.
 *
 * @since 0.1.0
 * @category accessors
 */
export const events: Effect.Effect<ReadonlyArray<Event>, never, TestSpawner> = TestSpawner.use((spawner) =>
  spawner.events
)

const signalled = (signal: string) => ({ code: null, signal })

/**
 * Provides `ChildProcessSpawner` running `scripts` (by command name) and the
 * {@link TestSpawner} log. An unscripted command fails to spawn as NotFound.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (scripts: Record<string, Script>): Layer.Layer<ChildProcessSpawner | TestSpawner> => {
  const log: Array<Event> = []
  let nextPid = 1000
  const spawn = (command: ChildProcess.Command) =>
    Effect.gen(function*() {
      const name = command._tag === "StandardCommand" ? command.command : "pipeline"
      const script = scripts[name]
      if (script === undefined || script.failsToSpawn !== undefined) {
        return yield* Effect.fail(PlatformError.systemError({
          _tag: script?.failsToSpawn ?? "NotFound",
          module: "ChildProcess",
          method: "spawn",
          pathOrDescriptor: name,
          description: `spawn ${name} ${script?.failsToSpawn === "PermissionDenied" ? "EACCES" : "ENOENT"}`
        }))
      }
      const scope = yield* Effect.scope
      const pid = nextPid++
      const record = (kind: Event["kind"], extra: Partial<Event> = {}) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          log.push({ at, command: name, pid, kind, ...extra })
        })
      const exited = yield* Deferred.make<{ readonly code: number | null; readonly signal: string | null }>()
      const exit = (status: { readonly code: number | null; readonly signal: string | null }) =>
        Effect.gen(function*() {
          if (yield* Deferred.isDone(exited)) return
          yield* record("exited", status)
          yield* Deferred.succeed(exited, status)
        })
      yield* record("spawned")
      if (script.exitAfter !== undefined) {
        yield* Effect.sleep(script.exitAfter).pipe(
          Effect.andThen(exit(script.exitSignal === undefined ? { code: script.exitCode ?? 1, signal: null } : signalled(script.exitSignal))),
          Effect.forkScoped({ startImmediately: true })
        )
      }
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          if (yield* Deferred.isDone(exited)) return
          yield* record("reaped")
          yield* exit(signalled("SIGKILL"))
        })
      )
      const kill = (options?: ChildProcess.KillOptions) =>
        Effect.gen(function*() {
          const signal = options?.killSignal ?? "SIGTERM"
          if (yield* Deferred.isDone(exited)) return
          yield* record(signal === "SIGKILL" ? "SIGKILL" : "SIGTERM")
          if (signal === "SIGKILL") {
            yield* exit(signalled("SIGKILL"))
          } else if (!script.ignoresSigterm) {
            yield* Effect.forkIn(Effect.andThen(Effect.sleep(script.drainFor ?? 0), exit({ code: 0, signal: null })), scope, {
              startImmediately: true
            })
          }
          yield* Deferred.await(exited)
        })
      return makeHandle({
        pid: ProcessId(pid),
        exitCode: Effect.flatMap(Deferred.await(exited), ({ code, signal }) =>
          code === null
            ? Effect.fail(PlatformError.systemError({
              _tag: "Unknown",
              module: "ChildProcess",
              method: "exitCode",
              description: `Process interrupted due to receipt of signal: '${signal}'`
            }))
            : Effect.succeed(ExitCode(code))),
        isRunning: Effect.map(Deferred.isDone(exited), (done) => !done),
        kill,
        stdin: Sink.drain,
        stdout: Stream.empty,
        stderr: Stream.empty,
        all: Stream.empty,
        getInputFd: constant(Sink.drain),
        getOutputFd: constant(Stream.empty),
        unref: Effect.succeed(Effect.void)
      })
    })
  return Layer.mergeAll(
    Layer.succeed(ChildProcessSpawner, makeSpawner(spawn)),
    Layer.succeed(TestSpawner, TestSpawner.of({ events: Effect.sync(() => [...log]) }))
  )
}
