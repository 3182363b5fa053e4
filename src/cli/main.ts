/**
 * Runs the command line as the process's main: `NodeRuntime.runMain`, with
 * one line per bad input instead of the whole help, and the exit codes of
 * `Cli.exitCodesText`.
 *
 * @since 0.2.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Os from "node:os"
import type * as Runtime from "effect/Runtime"
import { flushStdio } from "../internal/flushStdio.ts"
import type * as Member from "../Member.ts"
import * as NodeSupervisor from "../NodeSupervisor.ts"
import * as Cli from "./Cli.ts"
import * as Run from "./Run.ts"
import * as UsageError from "./UsageError.ts"
import { version } from "./version.ts"

const hint = (path: ReadonlyArray<string>) => `(${[...path, "--help"].join(" ")} shows the flags)`

// Bad input in one line, not drowned in the whole help text; the help when asked for.
const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.sync(() => {
      const formatter = CliOutput.defaultFormatter({ colors: process.stdout.isTTY === true && !process.env.NO_COLOR })
      switch (event._tag) {
        case "Help":
          return void process.stdout.write(`${formatter.formatHelpDoc(event.helpDoc)}\n`)
        case "InvalidInvocation":
          return void process.stderr.write(
            `${event.errors.map((error) => `effect-supervise: ${error.message}`).join("\n")} ${hint(event.commandPath)}\n`
          )
        case "Version":
          return void process.stdout.write(`${event.version}\n`)
      }
    })
}

/** A process's own exit code: its code, or 128 + the number of the signal that killed it. */
const ownCode = (end: Member.End | undefined): number => {
  if (end === undefined || end._tag !== "Exited") return 1
  if (end.code !== null) return end.code
  return 128 + (Os.constants.signals[end.signal as NodeJS.Signals] ?? 0)
}

const isUsage = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.squash(cause)
  return error instanceof UsageError.UsageError || (CliError.isCliError(error) && error._tag !== "UserError")
}

const codeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isFailure(exit) && isUsage(exit.cause)) return UsageError.exitCode
  const report = NodeSupervisor.lastReport()
  if (Run.exitCodeFrom !== undefined && report !== undefined) {
    return ownCode(report.members.find((member) => member.name === Run.exitCodeFrom)?.exit)
  }
  return NodeSupervisor.exitCodeOf(exit, report)
}

// How long the exit waits for stdout and stderr to be written out.
const flushMillis = 1_000

const teardown: Runtime.Teardown = (exit, onExit) =>
  flushStdio(flushMillis, () => {
    const code = codeOf(exit)
    onExit(code)
    process.exit(code)
  })

const program = Cli.main(version).pipe(
  // A usage error is said once, in its own words.
  Effect.tapError((error) =>
    error instanceof UsageError.UsageError
      ? Effect.sync(() => process.stderr.write(`effect-supervise: ${error.message} ${hint(["effect-supervise", "run"])}\n`))
      : Effect.void
  ),
  Effect.provide(Layer.mergeAll(NodeServices.layer, CliOutput.layerPresenter(presenter)))
)

NodeRuntime.runMain(program, { disableErrorReporting: false, teardown })
