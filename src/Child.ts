/**
 * A supervised child process as a scoped resource. It runs in a process group
 * of its own, so stop and force reach its own children too.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner, type ChildProcessHandle } from "effect/process/ChildProcessSpawner"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodePath from "node:path"
import * as Member from "./Member.ts"

/**
 * Where the child's stdout and stderr go: the parent's own streams, nowhere,
 * or the parent's streams line by line with `[name] ` in front.
 *
 * @since 0.1.0
 * @category models
 */
export type Stdio = "inherit" | "ignore" | "prefixed"

interface CommonSpec {
  readonly name: string
  readonly args?: ReadonlyArray<string> | undefined
  /** Added to the parent's environment. */
  readonly env?: Record<string, string | undefined> | undefined
  readonly cwd?: string | undefined
  readonly stdio?: Stdio | undefined
  /**
   * Gives the child one end of a socket pair on fd 3 (named in its
   * environment as `SUPERVISOR_LIFELINE_FD`) whose other end only this parent
   * holds: EOF on it means the parent is gone, even after SIGKILL. Default true.
   */
  readonly lifeline?: boolean | undefined
}

/**
 * A Node module run with the parent's own Node executable.
 *
 * @since 0.1.0
 * @category models
 */
export interface ForkSpec extends CommonSpec {
  readonly module: string
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * Any executable, looked up on `PATH` when not a path.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandSpec extends CommonSpec {
  readonly command: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type Spec = ForkSpec | CommandSpec

/**
 * How a child process ended: an exit code, or the signal that killed it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Child extends Member.Member {
  readonly kind: "child"
  readonly pid: number
  /** Completes when the child process has exited. */
  readonly exit: Effect.Effect<ExitStatus>
}

/**
 * The child could not be started: its module or command is missing, not
 * executable, or its working directory is unusable.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChildSpawnError extends Data.TaggedError("ChildSpawnError")<{
  readonly name: string
  readonly command: string
  readonly cause: PlatformError.PlatformError
}> {
  override get message(): string {
    return `Child "${this.name}" could not start (${this.command}): ${this.cause.message}`
  }
}

/**
 * The fd on which a child with a lifeline reads EOF when its parent dies.
 *
 * @since 0.1.0
 * @category constants
 */
export const lifelineFd = 3

/**
 * The environment variable naming the lifeline fd in the child.
 *
 * @since 0.1.0
 * @category constants
 */
export const lifelineVariable = "SUPERVISOR_LIFELINE_FD"

/**
 * The environment variable telling a child the supervisor's drain budget in
 * milliseconds, so that it can bound its own drain when no supervisor is left
 * to force it (see `SupervisedChild`).
 *
 * @since 0.1.0
 * @category constants
 */
export const budgetVariable = "SUPERVISOR_BUDGET_MS"

/**
 * The drain budget of the supervisor starting this child, if any; the
 * supervisor provides it while it starts its members.
 *
 * @since 0.1.0
 * @category references
 */
export const CurrentBudget = Context.Reference<Duration.Duration | undefined>(
  "effect-supervise/Child/CurrentBudget",
  { defaultValue: () => undefined }
)

// Group members that outlive their leader get this long after the teardown's
// SIGTERM before the spawner sends SIGKILL.
const stragglerGrace = "500 millis"

// Node resolves the module against the child's working directory; check the same file.
const modulePath = (spec: ForkSpec): string => NodePath.resolve(spec.cwd ?? process.cwd(), spec.module)

const commandOf = (spec: Spec, budget: Duration.Duration | undefined): ChildProcess.Command => {
  const stdio = spec.stdio ?? "inherit"
  const output = stdio === "prefixed" ? "pipe" : stdio
  const lifeline = spec.lifeline ?? true
  const options: ChildProcess.CommandOptions = {
    cwd: spec.cwd,
    env: {
      ...(budget === undefined ? {} : { [budgetVariable]: String(Duration.toMillis(budget)) }),
      ...spec.env,
      ...(lifeline ? { [lifelineVariable]: String(lifelineFd) } : {})
    },
    ...(lifeline ? { additionalFds: { [`fd${lifelineFd}`]: { type: "input" } } } : {}),
    extendEnv: true,
    detached: true,
    stdin: "ignore",
    stdout: output,
    stderr: output,
    killSignal: "SIGTERM",
    forceKillAfter: stragglerGrace
  }
  const args = spec.args ?? []
  return "module" in spec
    ? ChildProcess.make(process.execPath, [...(spec.execArgv ?? []), modulePath(spec), ...args], options)
    : ChildProcess.make(spec.command, [...args], options)
}

const describe = (spec: Spec): string =>
  "module" in spec ? `node ${spec.module}` : [spec.command, ...(spec.args ?? [])].join(" ")

// The spawner reports a death by signal as a failure whose message names it.
const signalPattern = /signal: '(\w+)'/

const exitStatusOf = (handle: ChildProcessHandle): Effect.Effect<ExitStatus> =>
  handle.exitCode.pipe(
    Effect.map((code): ExitStatus => ({ code, signal: null })),
    Effect.catch((error) =>
      Effect.succeed<ExitStatus>({
        code: null,
        signal: signalPattern.exec(error.message)?.[1] ?? signalPattern.exec(String(error.cause))?.[1] ?? null
      })
    )
  )

const writeLines = (name: string, target: NodeJS.WriteStream) => (lines: ReadonlyArray<string>) =>
  Effect.callback<void>((resume) => {
    // Waiting for the write callback keeps a chatty child from filling the parent's memory.
    target.write(lines.map((line) => `[${name}] ${line}\n`).join(""), () => resume(Effect.void))
  })

const forwardPrefixed = (name: string, output: Stream.Stream<Uint8Array, unknown>, target: NodeJS.WriteStream) =>
  output.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEachArray(writeLines(name, target)),
    Effect.ignore
  )

/**
 * Starts the child. Closing the scope sends it a stop request; the spawner's
 * own cleanup then waits for the process group to exit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(spec: Spec) {
  const spawner = yield* ChildProcessSpawner
  const scope = yield* Effect.scope
  const toSpawnError = (cause: PlatformError.PlatformError) =>
    new ChildSpawnError({ name: spec.name, command: describe(spec), cause })
  if ("module" in spec) {
    const fs = yield* FileSystem.FileSystem
    yield* fs.access(modulePath(spec)).pipe(Effect.mapError(toSpawnError))
  }
  const handle = yield* spawner.spawn(commandOf(spec, yield* CurrentBudget)).pipe(Effect.mapError(toSpawnError))

  const exited = yield* Deferred.make<ExitStatus>()
  const ended = yield* Deferred.make<void>()
  yield* exitStatusOf(handle).pipe(
    // `ended` first: whoever wakes on `exited` must already see the member as ended.
    Effect.flatMap((status) => Effect.andThen(Deferred.succeed(ended, undefined), Deferred.succeed(exited, status))),
    // Detached, so `exit` still completes when the scope's own cleanup ends the process;
    // that cleanup waits for the exit, so this fiber never outlives the process.
    Effect.forkDetach
  )
  if (spec.stdio === "prefixed") {
    yield* Effect.forkIn(forwardPrefixed(spec.name, handle.stdout, process.stdout), scope)
    yield* Effect.forkIn(forwardPrefixed(spec.name, handle.stderr, process.stderr), scope)
  }

  // The spawner's kill waits for the group to exit; fork it so stop and force return at once.
  // Detached, so the stop request issued while the scope closes is still sent.
  const signalGroup = (killSignal: "SIGTERM" | "SIGKILL") =>
    Effect.asVoid(Effect.forkDetach(Effect.ignore(handle.kill({ killSignal })), { startImmediately: true }))
  const member = Member.make({
    name: spec.name,
    kind: "child",
    pid: handle.pid,
    ended,
    onStopRequest: signalGroup("SIGTERM"),
    onForce: signalGroup("SIGKILL")
  })
  yield* Effect.addFinalizer(() => member.requestStop)
  const child: Child = { ...member, kind: "child", pid: handle.pid, exit: Deferred.await(exited) }
  return child
}) satisfies (spec: Spec) => Effect.Effect<
  Child,
  ChildSpawnError,
  Scope.Scope | ChildProcessSpawner | FileSystem.FileSystem
>
