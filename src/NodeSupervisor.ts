/**
 * Everything `supervise` needs on Node, in one layer: the process spawner
 * (with its file system and path services), the process tree, the drain
 * signals, the parent's stdout and stderr, the supervision's state, and
 * metrics in prom-client's global registry or the one given; and the
 * teardown that turns the supervision's verdict into the exit code.
 *
 * @since 0.1.0
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Runtime from "effect/Runtime"
import type * as Prometheus from "prom-client"
import { flushStdio } from "./internal/flushStdio.ts"
import * as Output from "./Output.ts"
import * as ProcessTree from "./ProcessTree.ts"
import { exitCodes, type ShutdownReport } from "./ShutdownReport.ts"
import * as ShutdownSignal from "./ShutdownSignal.ts"
import * as SupervisorMetrics from "./SupervisorMetrics.ts"
import * as SupervisorState from "./SupervisorState.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type NodeSupervisorServices =
  | ChildProcessSpawner
  | FileSystem.FileSystem
  | Path.Path
  | ProcessTree.ProcessTree
  | Output.Output
  | ShutdownSignal.ShutdownSignal
  | SupervisorMetrics.SupervisorMetrics
  | SupervisorState.SupervisorState

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where the metrics go; default: prom-client's global registry. */
  readonly registry?: Prometheus.Registry | undefined
  /** The signals that start a drain; default `ShutdownSignal.defaultSignals` (TERM, INT, HUP, QUIT). */
  readonly signals?: ReadonlyArray<ShutdownSignal.Signal> | undefined
  /** `false`: keep no metrics, and do not load prom-client (`SupervisorMetrics.layerNoop`). Default true. */
  readonly metrics?: boolean | undefined
}

// The state of the last supervision built by `layer` in this process, for `teardown`.
let lastState: SupervisorState.Service | undefined

/**
 * The report of the last supervision {@link layer} ran in this process, once it stopped.
 *
 * @since 0.2.0
 * @category runtime
 */
export const lastReport = (): ShutdownReport | undefined => lastState?.reportUnsafe()

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<NodeSupervisorServices> =>
  Layer.mergeAll(
    Layer.provideMerge(NodeChildProcessSpawner.layer, Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)),
    ProcessTree.layer,
    Layer.effect(SupervisorState.SupervisorState, Effect.tap(SupervisorState.make, (state) => Effect.sync(() => (lastState = state)))),
    ShutdownSignal.layer({ signals: options?.signals }),
    Layer.provideMerge(
      Output.layer,
      options?.metrics === false ? SupervisorMetrics.layerNoop : SupervisorMetrics.layer(options?.registry)
    )
  )

// How long the exit waits for stdout and stderr to be written out: the last lines must get out,
// but a log reader that stopped reading cannot hold the exit forever.
const flushMillis = 1_000

/**
 * The teardown for `NodeRuntime.runMain` with {@link layer}. runMain turns
 * SIGTERM and SIGINT into an interruption of the main fiber, and once that
 * interruption is pending it replaces the program's own exit (a clean drain,
 * a dead child, a forced drain) with a bare interruption, exit 130. So an
 * interrupted main is judged by the verdict of the supervision that `layer`
 * ran: 0 drained, 1 a member exited, failed to start or did not stop
 * cleanly, 124 forced. Anything else keeps `Runtime.defaultTeardown`'s code.
 * The process then exits once stdout and stderr are written out, so that no
 * stray handle keeps a finished supervisor alive.
 *
 * @since 0.2.0
 * @category runtime
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  flushStdio(flushMillis, () => {
    const code = exitCodeOf(exit, lastReport())
    onExit(code)
    process.exit(code)
  })

/**
 * The exit code of {@link teardown}: the verdict of `report` when the main
 * fiber ended in a bare interruption, `Runtime.defaultTeardown`'s otherwise.
 *
 * @since 0.2.0
 * @category runtime
 */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>, report: ShutdownReport | undefined): number => {
  if (report !== undefined && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return exitCodes[report.verdict]
  let code = 1
  Runtime.defaultTeardown(exit, (value) => (code = value))
  return code
}

/**
 * Runs a supervising program as the process's main: `NodeRuntime.runMain`
 * with {@link layer} provided and {@link teardown}. With `Supervisor.run` as
 * the program, the process exits 0 after a clean drain, 1 when a member
 * ended on its own, failed to start or did not stop cleanly, and 124 when
 * the drain had to force.
 *
 * @since 0.1.0
 * @category runtime
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E, NodeSupervisorServices>,
  options?: Options
): void => NodeRuntime.runMain(Effect.provide(program, layer(options)), { teardown })
