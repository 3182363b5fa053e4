/**
 * Runs the command line as the process's main: `NodeRuntime.runMain`, with
 * one line per bad input instead of the whole help, and the exit codes of
 * `ExitCode.exitCodesText`.
 *
 * @since 0.2.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as CliOutput from "effect/cli/CliOutput"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Runtime from "effect/Runtime"
import { flushStdio } from "../internal/flushStdio.ts"
import * as NodeSupervisor from "../NodeSupervisor.ts"
import * as Cli from "./Cli.ts"
import * as ExitCode from "./ExitCode.ts"
import * as Presenter from "./Presenter.ts"
import * as Run from "./Run.ts"
import { version } from "./version.ts"

// How long the exit waits for stdout and stderr to be written out.
const flushMillis = 1_000

const teardown: Runtime.Teardown = (exit, onExit) =>
  flushStdio(flushMillis, () => {
    const code = ExitCode.exitCodeOf(exit, NodeSupervisor.lastReport(), Run.exitCodeFrom)
    onExit(code)
    process.exit(code)
  })

const program = Cli.main(version).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, CliOutput.layerPresenter(Presenter.presenter)))
)

NodeRuntime.runMain(program, { disableErrorReporting: false, teardown })
