/**
 * The `effect-supervise` command line: `run` supervises commands given after
 * `--` or in a Procfile, with everything the library does reachable from
 * flags.
 *
 * @since 0.2.0
 */
import * as Argument from "effect/cli/Argument"
import * as CliConfig from "effect/cli/CliConfig"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ExitCode from "./ExitCode.ts"
import * as Presenter from "./Presenter.ts"
import * as Run from "./Run.ts"
import * as UsageError from "./UsageError.ts"

const repeated = <A>(flag: Flag.Flag<A>) => Flag.atLeast(flag, 0)

const run = Command.make("run", {
  grace: Flag.String("grace").pipe(
    Flag.withDescription(
      "the one graceful-shutdown budget every process's drain shares, then SIGKILL: seconds (25, 2.5) or 500ms, 25s; default 10s"
    ),
    Flag.withMetavar("DURATION"),
    Flag.withDefault("10s")
  ),
  procfile: Flag.String("procfile").pipe(
    Flag.withDescription("read the commands from `name: command` lines"),
    Flag.withMetavar("PATH"),
    Flag.optional
  ),
  shell: Flag.Boolean("shell").pipe(
    Flag.withDescription("run each command with /bin/sh -c; without it, commands are split into arguments, no shell"),
    Flag.withDefault(false)
  ),
  envFile: repeated(Flag.String("env-file").pipe(
      Flag.withDescription("KEY=value lines added to every process's environment"),
      Flag.withMetavar("PATH")
    )),
  scale: repeated(
    Flag.String("scale").pipe(
      Flag.withDescription("run NAME N times (NAME=N or NAME=N,OTHER=M): NAME.1, NAME.2, ..."),
      Flag.withMetavar("NAME=N")
    )
  ),
  port: Flag.Int("port").pipe(
    Flag.withDescription("PORT base: the i-th process's n-th instance gets PORT = base + 100 × i + n - 1; default 5000"),
    Flag.withMetavar("BASE"),
    Flag.withDefault(5000)
  ),
  stopSignal: repeated(
    Flag.String("stop-signal").pipe(
      Flag.withDescription("what a stop request sends, to all (SIGQUIT) or one (worker=SIGQUIT); default SIGTERM"),
      Flag.withMetavar("[NAME=]SIGNAL")
    )
  ),
  notify: repeated(
    Flag.String("notify").pipe(
      Flag.withDescription("NAME is ready only once it writes READY=1 on fd 3 (echo READY=1 >&3)"),
      Flag.withMetavar("NAME")
    )
  ),
  startTimeout: Flag.String("start-timeout").pipe(
    Flag.withDescription("how long a --notify process may take to be ready; later, it has failed to start; default 60s"),
    Flag.withMetavar("DURATION"),
    Flag.withDefault("60s")
  ),
  drainDelay: Flag.String("drain-delay").pipe(
    Flag.withDescription("after a signal, how long the processes keep serving, not ready, before their stop requests; default 0"),
    Flag.withMetavar("DURATION"),
    Flag.withDefault("0")
  ),
  health: Flag.String("health").pipe(
    Flag.withDescription("serve /livez, /readyz and /metrics on HOST:PORT (e.g. 127.0.0.1:9464)"),
    Flag.withMetavar("HOST:PORT"),
    Flag.optional
  ),
  exitCodeFrom: Flag.String("exit-code-from").pipe(
    Flag.withDescription("exit with NAME's own exit code, whatever ended the supervision"),
    Flag.withMetavar("NAME"),
    Flag.optional
  ),
  noPid1Warning: Flag.Boolean("no-pid1-warning").pipe(
    Flag.withDescription("do not warn when running as PID 1"),
    Flag.withDefault(false)
  ),
  commands: Argument.String("command").pipe(
    Argument.withDescription("NAME=COMMAND, each quoted, after --: 'api=node api.js --port 8080'"),
    Argument.variadic()
  )
}, (flags) =>
  Run.run({
    grace: flags.grace,
    procfile: Option.getOrUndefined(flags.procfile),
    shell: flags.shell,
    envFiles: flags.envFile,
    scale: flags.scale,
    port: flags.port,
    stopSignals: flags.stopSignal,
    notify: flags.notify,
    startTimeout: flags.startTimeout,
    drainDelay: flags.drainDelay,
    health: Option.getOrUndefined(flags.health),
    exitCodeFrom: Option.getOrUndefined(flags.exitCodeFrom),
    pid1Warning: !flags.noPid1Warning,
    commands: flags.commands
  })).pipe(
    Command.withDescription(
      `Start every command, each in a process group of its own; wait for a signal, or for any of them to exit on its own; then stop them all within one grace period, and SIGKILL what is left. No restarts: one exit ends them all.\n\n${ExitCode.exitCodesText}`
    ),
    Command.withExamples([
      { command: "effect-supervise run --grace 25s -- 'api=node api.js --port 8080' 'worker=node worker.js'", description: "two commands, 25 s to drain" },
      { command: "effect-supervise run --procfile Procfile --scale web=2 --env-file .env", description: "a Procfile, web twice" }
    ])
  )

/**
 * The whole command line.
 *
 * @since 0.2.0
 * @category commands
 */
export const cli = Command.make("effect-supervise").pipe(
  Command.withDescription("One-for-all supervision of a container's processes, with one graceful-shutdown budget."),
  Command.withSubcommands([run])
)

/**
 * Runs the command line with the process's arguments.
 *
 * @since 0.2.0
 * @category running
 */
export const main = (version: string) =>
  Command.run(cli, { version }).pipe(
    // --help and --version only: no wizard prompts nor log-level games in a container's entrypoint.
    Effect.provide(CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] })),
    // A usage error is said once, in its own words.
    Effect.tapError((error) =>
      error instanceof UsageError.UsageError
        ? Effect.sync(() => process.stderr.write(`effect-supervise: ${error.message} ${Presenter.hint(["effect-supervise", "run"])}\n`))
        : Effect.void
    )
  )
