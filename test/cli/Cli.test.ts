// The command line in-process: flags reach `run`, errors and help are
// presented as the user sees them, and the exit code follows `--help`'s table.
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as CliOutput from "effect/cli/CliOutput"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import { afterEach, assert, describe, it, vi } from "vitest"
import * as Cli from "../../src/cli/Cli.ts"
import * as ExitCode from "../../src/cli/ExitCode.ts"
import * as Presenter from "../../src/cli/Presenter.ts"
import * as Run from "../../src/cli/Run.ts"
import { UsageError } from "../../src/cli/UsageError.ts"
import { version } from "../../src/cli/version.ts"
import * as NodeSupervisor from "../../src/NodeSupervisor.ts"
import type { ShutdownReport } from "../../src/ShutdownReport.ts"
import { runFlags } from "../helpers/cliProcess.ts"
import { tempFile } from "../helpers/processes.ts"

const layer = Layer.mergeAll(NodeServices.layer, CliOutput.layerPresenter(Presenter.presenter))

/** Runs the command line as the bin does, with `args`, capturing what it writes. */
const cli = async (args: ReadonlyArray<string>) => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string) => stdout.push(String(chunk)) > 0) as typeof process.stdout.write)
  vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write)
  try {
    vi.spyOn(process, "argv", "get").mockReturnValue(["node", "effect-supervise", ...args])
    const exit = await Effect.runPromiseExit(Cli.main(version).pipe(Effect.provide(layer)))
    return { exit, stdout: stdout.join(""), stderr: stderr.join("") }
  } finally {
    vi.restoreAllMocks()
  }
}

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error : undefined

afterEach(() => {
  vi.unstubAllEnvs()
})

describe("Cli: each flag reaches run", () => {
  // A bad value for each flag: its own message proves which option it reached.
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [["--grace", "x"], /^--grace "x"/],
    [["--drain-delay", "x"], /^--drain-delay "x"/],
    [["--start-timeout", "x"], /^--start-timeout "x"/],
    [["--procfile", "/nonexistent/Procfile"], /^give the commands after --, or --procfile, not both$/],
    [["--env-file", "/nonexistent/.env"], /^cannot read the env file \/nonexistent\/.env/],
    [["--scale", "a=x"], /^Invalid scale "a=x": the count of a must be/],
    [["--port", "70000"], /^The port base must be/],
    [["--stop-signal", "nobody=TERM"], /no process is named nobody/],
    [["--notify", "nobody"], /^--notify nobody/],
    [["--health", "nowhere"], /^--health nowhere/],
    [["--exit-code-from", "nobody"], /^--exit-code-from nobody/]
  ]
  for (const [flags, expected] of cases) {
    it(`${flags.join(" ")}: exit 2, the message once on stderr, with where to find help`, async () => {
      const { exit, stderr, stdout } = await cli(["run", ...flags, "--", "a=true"])
      assert.instanceOf(errorOf(exit), UsageError)
      assert.match((errorOf(exit) as UsageError).message, expected)
      assert.strictEqual(ExitCode.exitCodeOf(exit, undefined, undefined), 2)
      assert.match(stderr, /^effect-supervise: .+ \(effect-supervise run --help shows the flags\)\n$/)
      assert.strictEqual(stdout, "")
    })
  }

  it("--shell, --port and --no-pid1-warning reach the children; the exit code is the supervision's", async () => {
    const file = tempFile("port")
    const { exit } = await cli(["run", "--shell", "--port", "6000", "--no-pid1-warning", "--", `a=echo "$PORT" > ${file}; exit 3`])
    assert.strictEqual(Fs.readFileSync(file, "utf8"), "6000\n")
    assert.strictEqual(ExitCode.exitCodeOf(exit, NodeSupervisor.lastReport(), undefined), 1)
    assert.strictEqual(Run.exitCodeFrom, undefined)
  })
})

describe("Cli: what the parser refuses, and help", () => {
  it("an unknown flag: one line naming it, exit 2, nothing on stdout", async () => {
    const { exit, stderr, stdout } = await cli(["run", "--bogus", "--", "a=true"])
    assert.strictEqual(ExitCode.exitCodeOf(exit, undefined, undefined), 2)
    assert.match(stderr, /^effect-supervise: .*--bogus.* \(effect-supervise run --help shows the flags\)\n$/)
    assert.strictEqual(stdout, "")
  })

  it("a flag value that looks like flags: one line, the first error", async () => {
    const { exit, stderr } = await cli(["run", "--start-timeout", "-1s", "--", "a=true"])
    assert.strictEqual(ExitCode.exitCodeOf(exit, undefined, undefined), 2)
    assert.match(stderr, /^effect-supervise: Missing value for flag --start-timeout\b[^\n]*\(effect-supervise run --help shows the flags\)\n$/)
  })

  it("run --help: every flag, the exit codes, no colour when piped", async () => {
    vi.stubEnv("FORCE_COLOR", "")
    vi.stubEnv("NO_COLOR", "")
    const { exit, stdout } = await cli(["run", "--help"])
    assert.isTrue(Exit.isSuccess(exit))
    for (const flag of runFlags) assert.include(stdout, flag)
    assert.include(stdout, ExitCode.exitCodesText)
    assert.notInclude(stdout, "\x1b[")
  })

  it("only --help and --version are global: no wizard, completions nor log level", async () => {
    const { stdout } = await cli(["--help"])
    for (const flag of ["--wizard", "--completions", "--log-level"]) assert.notInclude(stdout, flag)
    assert.strictEqual(ExitCode.exitCodeOf((await cli(["--wizard"])).exit, undefined, undefined), 2)
  })

  it("--help with FORCE_COLOR=1 is coloured; --version prints the version", async () => {
    vi.stubEnv("FORCE_COLOR", "1")
    assert.include((await cli(["--help"])).stdout, "\x1b[")
    assert.strictEqual((await cli(["--version"])).stdout, `${version}\n`)
    const packageJson = JSON.parse(Fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
    assert.strictEqual(version, packageJson.version)
  })

})

describe("ExitCode.exitCodeOf", () => {
  const report = (exit: unknown) => ({ members: [{ name: "a", exit }] }) as unknown as ShutdownReport
  const failed = Exit.fail(new Error("a exited"))

  it("--exit-code-from: the process's own code, 128 + n for signal n, 1 when it has no exit", () => {
    assert.strictEqual(ExitCode.exitCodeOf(failed, report({ _tag: "Exited", code: 7, signal: null }), "a"), 7)
    assert.strictEqual(ExitCode.exitCodeOf(failed, report({ _tag: "Exited", code: null, signal: "SIGUSR1" }), "a"), 138)
    assert.strictEqual(ExitCode.exitCodeOf(failed, report({ _tag: "Exited", code: null, signal: "SIGNOPE" }), "a"), 128)
    assert.strictEqual(ExitCode.exitCodeOf(failed, report(undefined), "a"), 1)
    assert.strictEqual(ExitCode.exitCodeOf(failed, report({ _tag: "Closed" }), "a"), 1)
  })

  it("bad input is 2 whatever --exit-code-from says", () => {
    assert.strictEqual(ExitCode.exitCodeOf(Exit.fail(new UsageError({ message: "bad" })), report(undefined), "a"), 2)
  })
})
