/**
 * `effect-supervise run`: turns the flags into a supervision and runs it.
 * Every piece of input is checked before anything starts; bad input is a
 * `UsageError` (exit 2).
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Result from "effect/Result"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import * as Budget from "../Budget.ts"
import * as Child from "../Child.ts"
import * as HealthServer from "../HealthServer.ts"
import * as NodeSupervisor from "../NodeSupervisor.ts"
import * as Supervisor from "../Supervisor.ts"
import * as EnvFile from "./EnvFile.ts"
import * as Formation from "./Formation.ts"
import * as Prefix from "./Prefix.ts"
import * as Procfile from "./Procfile.ts"
import * as Signals from "./Signals.ts"
import { UsageError } from "./UsageError.ts"
import * as Words from "./Words.ts"

/**
 * The flags of `run`, as given.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly grace: string
  readonly procfile: string | undefined
  readonly shell: boolean
  readonly envFiles: ReadonlyArray<string>
  readonly scale: ReadonlyArray<string>
  readonly port: number
  readonly stopSignals: ReadonlyArray<string>
  readonly notify: ReadonlyArray<string>
  readonly startTimeout: string
  readonly drainDelay: string
  readonly health: string | undefined
  readonly exitCodeFrom: string | undefined
  readonly pid1Warning: boolean
  readonly commands: ReadonlyArray<string>
}

/**
 * The process named by `--exit-code-from`, for the teardown.
 *
 * @since 0.2.0
 * @category state
 */
export let exitCodeFrom: string | undefined = undefined

const usage = (message: string) => new UsageError({ message })

const orUsage = <A, E extends { readonly message: string }>(result: Result.Result<A, E>) =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(usage(result.failure.message))

const duration = (flag: string, input: string, parse: (input: string) => Duration.Duration | undefined, least: string) => {
  const parsed = parse(input)
  return parsed !== undefined
    ? Effect.succeed(parsed)
    : Effect.fail(usage(`--${flag} ${JSON.stringify(input)}: a duration is seconds (25, 2.5) or has a unit (500ms, 25s), from ${least} to 24 days`))
}

/** Where a command would be found, as the spawn would look for it: a path, or a name on PATH. */
const isRunnable = (command: string, cwd: string, path: string | undefined): boolean => {
  const executable = (file: string) => {
    try {
      Fs.accessSync(file, Fs.constants.X_OK)
      return Fs.statSync(file).isFile()
    } catch {
      return false
    }
  }
  if (command.includes("/")) return executable(NodePath.resolve(cwd, command))
  return (path ?? "").split(":").some((dir) => dir !== "" && executable(NodePath.join(dir, command)))
}

/** Why a file could not be read, in a user's words where the platform's are obscure. */
const readFailure = (path: string, message: string): string => {
  try {
    if (Fs.statSync(path).isDirectory()) return "it is a directory"
  } catch {
    // the platform's message says why
  }
  return message
}

const namedCommands = (options: Options) =>
  Effect.gen(function*() {
    if (options.procfile !== undefined && options.commands.length > 0) {
      return yield* Effect.fail(usage("give the commands after --, or --procfile, not both"))
    }
    if (options.procfile !== undefined) {
      const fs = yield* FileSystem.FileSystem
      const path = options.procfile
      const text = yield* fs.readFileString(path).pipe(
        Effect.mapError((error) => usage(`cannot read the Procfile ${path}: ${readFailure(path, error.message)}`))
      )
      return yield* orUsage(Procfile.parse(text, path))
    }
    if (options.commands.length === 0) {
      return yield* Effect.fail(
        usage("no command: give them after --, as 'name=command' (effect-supervise run -- 'api=node api.js'), or --procfile")
      )
    }
    const named: Array<Formation.NamedCommand> = []
    for (const text of options.commands) named.push(yield* orUsage(Formation.parseNamedCommand(text)))
    return named
  })

const environment = (files: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const env: Record<string, string> = {}
    for (const file of files) {
      const text = yield* fs.readFileString(file).pipe(
        Effect.mapError((error) => usage(`cannot read the env file ${file}: ${readFailure(file, error.message)}`))
      )
      Object.assign(env, yield* orUsage(EnvFile.parse(text, file)))
    }
    return env
  })

/** How one instance is run: through the shell, or split into its arguments. */
const commandOf = (name: string, command: string, shell: boolean) =>
  Effect.gen(function*() {
    if (shell) return { command: "/bin/sh", args: ["-c", command] }
    const split = Words.split(command)
    if (Result.isFailure(split)) return yield* Effect.fail(usage(`the command of ${name}: ${split.failure.message}`))
    const words = split.success
    if (!isRunnable(words[0], process.cwd(), process.env.PATH)) {
      return yield* Effect.fail(usage(`the command of ${name} is not found or not executable: ${words[0]}`))
    }
    return { command: words[0], args: words.slice(1) }
  })

/** `host:port` or `[v6]:port`, the port a real one. */
const isHostPort = (text: string): boolean => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text)
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65_535
}

const knownName = (flag: string, name: string, names: ReadonlyArray<string>) =>
  names.includes(name)
    ? Effect.void
    : Effect.fail(usage(`--${flag} ${name}: no process of that name (there are ${names.join(", ")})`))

/**
 * The supervisor's own lines, behind its prefix, one write per line: info to
 * stdout, warnings and errors to stderr.
 */
const logger = (prefix: string) =>
  Logger.make(({ logLevel, message }) => {
    const text = [message].flat().map((part) => typeof part === "string" ? part : String(part)).join(" ")
    const stream = logLevel === "Info" || logLevel === "Debug" || logLevel === "Trace" ? process.stdout : process.stderr
    stream.write(text.split("\n").map((line) => `${prefix}${line}\n`).join(""))
  })

/**
 * Checks every flag, then supervises. Bad input fails with {@link UsageError}
 * before anything starts.
 *
 * @since 0.2.0
 * @category running
 */
export const run = (options: Options) =>
  Effect.gen(function*() {
    const budget = yield* duration("grace", options.grace, Budget.parse, "1ms")
    const drainDelay = yield* duration("drain-delay", options.drainDelay, Budget.parseDelay, "0")
    const startTimeout = yield* duration("start-timeout", options.startTimeout, Budget.parse, "1ms")
    yield* Budget.makeDrainDelay(drainDelay, budget).pipe(
      Effect.mapError(() => usage(`--drain-delay ${options.drainDelay} must be shorter than --grace ${options.grace}`))
    )
    const named = yield* namedCommands(options)
    const scale = yield* orUsage(Formation.parseScale(options.scale))
    const instances = yield* orUsage(Formation.make(named, { scale, portBase: options.port }))
    const names = instances.map((instance) => instance.name)
    const types = named.map((entry) => entry.name)
    if (names.includes(Prefix.defaultSupervisorName) || types.includes(Prefix.defaultSupervisorName)) {
      return yield* Effect.fail(usage(`"${Prefix.defaultSupervisorName}" names the supervisor's own lines; give the process another name`))
    }
    // A command run once is both a type and an instance: each name once.
    const typesAndNames = [...new Set([...types, ...names])]
    const stopSignals = yield* orUsage(Signals.parseStopSignals(options.stopSignals, typesAndNames))
    for (const name of options.notify) yield* knownName("notify", name, typesAndNames)
    if (options.exitCodeFrom !== undefined) yield* knownName("exit-code-from", options.exitCodeFrom, names)
    if (options.health !== undefined && !isHostPort(options.health)) {
      return yield* Effect.fail(usage(`--health ${options.health}: give HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:9464`))
    }
    const env = yield* environment(options.envFiles)
    const colour = Prefix.colourWanted({ isTTY: process.stdout.isTTY === true, env: process.env })
    const prefixes = Prefix.make(names, { colour })
    const children: Array<ReturnType<typeof Child.make>> = []
    for (const instance of instances) {
      const { args, command } = yield* commandOf(instance.name, instance.command, options.shell)
      const notify = options.notify.includes(instance.name) || options.notify.includes(instance.type)
      children.push(Child.make({
        name: instance.name,
        command,
        args,
        env: { ...env, ...instance.env },
        stdio: "prefixed",
        prefix: prefixes.byName[instance.name],
        stopSignal: stopSignals.byName[instance.name] ?? stopSignals.byName[instance.type] ?? stopSignals.default,
        ...(notify ? { readiness: "notify", startTimeout } : {})
      }))
    }
    exitCodeFrom = options.exitCodeFrom
    const supervision = Effect.gen(function*() {
      if (process.pid === 1 && options.pid1Warning) {
        yield* Effect.logWarning(
          "running as PID 1: Node cannot reap orphaned grandchildren, which stay zombies; run it under an init: docker run --init, or tini (--no-pid1-warning to silence this)"
        )
      }
      return yield* Supervisor.run({
        children,
        servers: options.health === undefined ? [] : [HealthServer.make({ address: options.health })],
        budget,
        drainDelay
      })
    })
    return yield* supervision.pipe(
      // The layer's own services log too (an ignored signal's warning): behind the same prefix.
      Effect.provide(NodeSupervisor.layer({ metrics: options.health !== undefined }).pipe(
        Layer.provideMerge(Logger.layer([logger(prefixes.supervisor)]))
      ))
    )
  })
