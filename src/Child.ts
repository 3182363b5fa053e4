/**
 * A supervised child process as a scoped resource. It runs in a process group
 * of its own, so stop and force reach its own children too; descendants that
 * left the group are traced through the process table while their ancestors
 * live, and signalled with it. The child has ended when its leader has
 * exited, nothing of its group or traced descendants is alive, and its output
 * has been forwarded to the end.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner, type ChildProcessHandle } from "effect/process/ChildProcessSpawner"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodePath from "node:path"
import * as environment from "./internal/childEnvironment.ts"
import * as Member from "./Member.ts"
import { Output, type Service as OutputService, type Target } from "./Output.ts"
import * as PrefixedLines from "./PrefixedLines.ts"
import { type ProcessInfo, ProcessTree } from "./ProcessTree.ts"

/**
 * Where the child's stdout and stderr go: the parent's own streams, nowhere,
 * or the parent's streams line by line with a prefix (by default `[name] `).
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
  /** With `stdio: "prefixed"`: what goes in front of each line. Default `[name] `. */
  readonly prefix?: string | undefined
  /**
   * Gives the child one end of a socket pair on fd 3 (named in its
   * environment as `SUPERVISOR_LIFELINE_FD`) whose other end only this parent
   * holds: EOF on it means the parent is gone, even after SIGKILL. Default true.
   */
  readonly lifeline?: boolean | undefined
  /** The signal a stop request sends (with SIGCONT after it, for a stopped child). Default SIGTERM. */
  readonly stopSignal?: string | undefined
  /**
   * When the child counts as ready: as soon as it is spawned (`"spawned"`, the default), or once
   * it writes `READY=1` and a newline on its lifeline fd (`"notify"`: `echo READY=1 >&3` from a
   * shell, `SupervisedChild.notifyReady` from Effect). `"notify"` gives it the lifeline whatever
   * `lifeline` says.
   */
  readonly readiness?: "spawned" | "notify" | undefined
  /** With `readiness: "notify"`: how long it may take to be ready before its start has failed. Default 60 s. */
  readonly startTimeout?: Duration.Input | undefined
  /** Start it only once every member started before it is ready (`Member.afterReady`). */
  readonly afterReady?: boolean | undefined
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
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-supervise/Child" as const

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface Child extends Member.Member {
  readonly [TypeId]: TypeId
  readonly pid: number
  readonly stopSignal: string
}

/**
 * Whether a member is a child process made by {@link make}.
 *
 * @since 0.2.0
 * @category guards
 */
export const isChild = (member: Member.Member): member is Child => TypeId in member

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
  // Through a supervisor it is the outcome, logged as such: runMain need not print it again.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    const code = errnoOf(this.cause)
    const hint = code === undefined ? "" : ` [${code}${hints[code] === undefined ? "" : `: ${hints[code]}`}]`
    return `Child "${this.name}" could not start (${this.command}): ${this.cause.message}${hint}`
  }
}

// What the system said, when the platform error hides it under a generic reason.
const errnoOf = (error: PlatformError.PlatformError): string | undefined => {
  const code = (error.reason.cause as NodeJS.ErrnoException | undefined)?.code
  return typeof code === "string" ? code : undefined
}

const hints: Record<string, string> = {
  EMFILE: "too many open files in this process; raise its limit (ulimit -n) or start fewer children",
  ENFILE: "too many open files on the system",
  EAGAIN: "too many processes; raise the limit (ulimit -u) or start fewer children",
  ENOMEM: "not enough memory to start it",
  ENOENT: "no such file",
  EACCES: "permission denied"
}

/**
 * The fd on which a child with a lifeline reads EOF when its parent dies.
 *
 * @since 0.1.0
 * @category constants
 */
export const lifelineFd = environment.lifelineFd

/**
 * The environment variable naming the lifeline fd in the child.
 *
 * @since 0.1.0
 * @category constants
 */
export const lifelineVariable = environment.lifelineVariable

/**
 * The environment variable telling a child the supervisor's drain budget in
 * milliseconds, so that it can bound its own drain when no supervisor is left
 * to force it (see `SupervisedChild`).
 *
 * @since 0.1.0
 * @category constants
 */
export const budgetVariable = environment.budgetVariable

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

// Closing a child's scope without a supervisor: how long it may take to stop before SIGKILL.
const defaultStopTimeout = Duration.seconds(10)
// Once the leader has exited, how often to look whether the rest of its group is gone:
// no event tells when the last grandchild exits.
const groupPollInterval = Duration.millis(10)
// A trace of descendants may be this old: the stop requests of one drain share one read of /proc.
const traceMaxAgeMillis = 100
// After SIGKILL, how long the child may take to be gone before the finalizer gives up on it.
const forceWait = Duration.seconds(1)
// After SIGKILL, how long output may still be read before the pipe is abandoned (an untraceable
// process, such as a daemon reparented away, may hold it open forever).
const outputGraceAfterForce = Duration.millis(50)

// After the leader's exit, how long its exit waits for its output to be forwarded to the end.
const lastLinesWait = Duration.millis(50)

// A child with readiness "notify" that says nothing for this long has failed to start.
const defaultStartTimeout = Duration.seconds(60)
// The readiness line, as sd_notify writes it; lines longer than this on the lifeline are not it.
const readyLine = "READY=1"
const maxNotifyLine = 4096

/**
 * Completes `ready` when the child writes READY=1 on its lifeline. It reads to EOF, after the
 * readiness too: the parent's end of the socket must stay open, or the child would take it for
 * the parent's death.
 */
const awaitReadyLine = (stream: Stream.Stream<Uint8Array, unknown>, ready: Deferred.Deferred<void>) =>
  Effect.suspend(() => {
    const decoder = new TextDecoder()
    let line = ""
    const take = (chunk: Uint8Array) => {
      for (const char of decoder.decode(chunk, { stream: true })) {
        if (char !== "\n") {
          if (line.length < maxNotifyLine) line += char
        } else {
          if (line.replace(/\r$/, "") === readyLine) Deferred.doneUnsafe(ready, Effect.void)
          line = ""
        }
      }
    }
    return stream.pipe(Stream.runForEach((chunk) => Effect.sync(() => take(chunk))), Effect.ignore)
  })

// Node resolves the module against the child's working directory; check the same file.
const modulePath = (spec: ForkSpec): string => NodePath.resolve(spec.cwd ?? process.cwd(), spec.module)

const commandOf = (spec: Spec, budget: Duration.Duration | undefined): ChildProcess.Command => {
  const stdio = spec.stdio ?? "inherit"
  const output = stdio === "prefixed" ? "pipe" : stdio
  const lifeline = (spec.lifeline ?? true) || spec.readiness === "notify"
  const options: ChildProcess.CommandOptions = {
    cwd: spec.cwd,
    env: {
      ...(budget === undefined ? {} : { [budgetVariable]: String(Duration.toMillis(budget)) }),
      ...spec.env,
      ...(lifeline ? { [lifelineVariable]: String(lifelineFd) } : {})
    },
    // Both ways: the child's EOF means the parent is gone; what the child writes is its readiness.
    ...(lifeline ? { additionalFds: { [`fd${lifelineFd}`]: { type: "duplex" } } } : {}),
    extendEnv: true,
    detached: true,
    stdin: "ignore",
    stdout: output,
    stderr: output
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

const exitOf = (handle: ChildProcessHandle): Effect.Effect<Member.End> =>
  handle.exitCode.pipe(
    Effect.map((code) => Member.End.Exited({ code, signal: null })),
    Effect.catch((error) =>
      Effect.succeed(Member.End.Exited({
        code: null,
        signal: signalPattern.exec(error.message)?.[1] ?? signalPattern.exec(String(error.cause))?.[1] ?? null
      }))
    )
  )

/** Forwards one output stream, framed, to the end; a read error ends it like EOF. */
const forward = (output: OutputService, target: Target, stream: Stream.Stream<Uint8Array, unknown>, prefix: string) =>
  Effect.suspend(() => {
    const framer = PrefixedLines.make(Buffer.from(prefix))
    const write = (pieces: Array<Uint8Array>) => pieces.length === 0 ? Effect.void : output.write(target, pieces)
    return stream.pipe(
      Stream.runForEach((chunk) => write(framer.push(chunk))),
      Effect.ignore,
      Effect.andThen(Effect.suspend(() => write(framer.end())))
    )
  })

/**
 * Starts the child. The start cannot be interrupted halfway: a child being
 * spawned when an interruption comes is started, and stopped with the rest.
 * Closing the scope stops the child: a stop request, then, if it has not
 * ended within the supervisor's budget (10 s without one), SIGKILL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (spec: Spec): Effect.Effect<
  Child,
  ChildSpawnError,
  Scope.Scope | ChildProcessSpawner | FileSystem.FileSystem | ProcessTree | Output
> => spec.afterReady ? Member.afterReady(spawn(spec)) : spawn(spec)

const spawn = (spec: Spec): Effect.Effect<
  Child,
  ChildSpawnError,
  Scope.Scope | ChildProcessSpawner | FileSystem.FileSystem | ProcessTree | Output
> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner
    const tree = yield* ProcessTree
    const output = yield* Output
    const budget = yield* CurrentBudget
    const toSpawnError = (cause: PlatformError.PlatformError) =>
      new ChildSpawnError({ name: spec.name, command: describe(spec), cause })
    if ("module" in spec) {
      const fs = yield* FileSystem.FileSystem
      yield* fs.access(modulePath(spec)).pipe(Effect.mapError(toSpawnError))
    }
    // The spawner's handle lives in a scope of our own. Its clean-up waits on the group with
    // kill(-pgid, 0), for which unreaped zombies count as alive, and as PID 1 nobody reaps them
    // (Node cannot): so this supervisor does its own escalation, and closes that scope only
    // once the group has no process left at all.
    const spawnScope = yield* Scope.make()
    const handle = yield* spawner.spawn(commandOf(spec, budget)).pipe(
      Scope.provide(spawnScope),
      Effect.mapError(toSpawnError),
      Effect.tapError(() => Scope.close(spawnScope, Exit.void))
    )
    const pid = handle.pid
    // Detached: its own process group, whose id is its pid.
    const pgid = pid
    const stopSignal = spec.stopSignal ?? "SIGTERM"
    const exit = yield* Deferred.make<Member.End>()
    const ended = yield* Deferred.make<void>()
    const forced = yield* Deferred.make<void>()
    const ready = yield* Deferred.make<void>()
    if (spec.readiness === "notify") {
      yield* awaitReadyLine(handle.getOutputFd(lifelineFd), ready).pipe(Effect.forkDetach)
    } else {
      yield* Deferred.succeed(ready, undefined)
    }
    // Descendants outside the group, found while an ancestor still lived.
    const escapees = new Map<number, ProcessInfo>()

    const forwarding = spec.stdio === "prefixed"
      ? yield* Effect.all([
        forward(output, "stdout", handle.stdout, spec.prefix ?? `[${spec.name}] `),
        forward(output, "stderr", handle.stderr, spec.prefix ?? `[${spec.name}] `)
      ], { concurrency: 2, discard: true }).pipe(Effect.forkDetach)
      : undefined
    // The exit is known once the child's last lines are out (often why it died), so they come
    // before the supervisor's word of it; a descendant holding the pipes open delays it at most a little.
    const lastLines = forwarding === undefined ? Effect.void : Effect.timeoutOption(Fiber.await(forwarding), lastLinesWait)
    yield* exitOf(handle).pipe(
      Effect.tap(() => lastLines),
      Effect.flatMap((end) => Deferred.succeed(exit, end)),
      Effect.forkDetach
    )

    /**
     * Adds the descendants outside the group to the escapees. For a stop request it walks the
     * leader's own lists of children (a few reads: the signal is not held up); for a force, or
     * once the leader is gone, it reads the whole table, from every live member of the group.
     */
    const trace = (thorough: boolean) =>
      Effect.gen(function*() {
        const known = [...escapees.keys()]
        // Nothing left of it at all: nothing to trace (the usual end of a child that exited on its own).
        if (known.length === 0 && !(yield* tree.groupExists(pgid))) return
        const walked = thorough ? undefined : yield* tree.descendantsOf([pid, ...known])
        const snapshot = walked === undefined ? yield* tree.snapshot(traceMaxAgeMillis) : undefined
        const roots = snapshot === undefined ? [] : [pid, ...snapshot.liveInGroup(pgid).map((info) => info.pid), ...known]
        for (const info of walked ?? snapshot?.descendants(roots) ?? []) {
          if (info.pgid !== pgid) escapees.set(info.pid, info)
        }
      })

    const signalAll = (signal: string) =>
      Effect.gen(function*() {
        yield* tree.signalGroup(pgid, signal)
        const groups = new Set<number>()
        for (const escapee of escapees.values()) {
          // A group one of them leads (setsid, setpgid(0, 0)) is theirs: signal all of it.
          if (escapees.has(escapee.pgid)) groups.add(escapee.pgid)
          else yield* tree.signalProcess(escapee.pid, signal)
        }
        for (const group of groups) yield* tree.signalGroup(group, signal)
      })

    // The processes last seen alive: while one of them lives, no need to read the whole table.
    let lastSeenAlive: Array<ProcessInfo> = []
    const isAnythingAlive = Effect.gen(function*() {
      for (const info of lastSeenAlive) {
        if (yield* tree.isRunning(info)) return true
      }
      const exists = yield* tree.groupExists(pgid)
      if (!exists && escapees.size === 0) return false
      const snapshot = yield* tree.snapshot(Duration.toMillis(groupPollInterval))
      // Without a table, trust kill(-pgid, 0), though it counts zombies.
      if (snapshot === undefined) return exists
      lastSeenAlive = [...snapshot.liveInGroup(pgid), ...[...escapees.values()].filter((info) => snapshot.isAlive(info))]
      return lastSeenAlive.length > 0
    })

    // The member has ended once the leader exited, nothing traced lives, and the output is forwarded.
    yield* Effect.gen(function*() {
      yield* Deferred.await(exit)
      while (yield* isAnythingAlive) {
        // A force wakes it too: SIGKILL may have done its work at once.
        yield* Deferred.isDoneUnsafe(forced)
          ? Effect.sleep(groupPollInterval)
          : Effect.raceFirst(Effect.sleep(groupPollInterval), Deferred.await(forced))
      }
      if (forwarding !== undefined) {
        const abandoned = Effect.andThen(Deferred.await(forced), Effect.sleep(outputGraceAfterForce))
        yield* Effect.raceFirst(Fiber.await(forwarding), abandoned)
        yield* Fiber.interrupt(forwarding)
      }
      yield* Deferred.succeed(ended, undefined)
      // Nothing left for the spawner's own clean-up to wait for, not even a zombie.
      if (!(yield* tree.groupExists(pgid))) yield* Scope.close(spawnScope, Exit.void)
    }).pipe(Effect.forkDetach)

    const member = Member.make({
      name: spec.name,
      kind: "child",
      pid,
      stopSignal,
      exit,
      ended,
      ready,
      startTimeout: spec.readiness === "notify" ? spec.startTimeout ?? defaultStartTimeout : undefined,
      // Traced first: a leader that dies at once on its stop signal leaves its escapees
      // reparented, and so untraceable. SIGCONT after the stop signal, as systemd does, so a
      // stopped child can act on it.
      onStopRequest: Effect.andThen(trace(false), Effect.andThen(signalAll(stopSignal), signalAll("SIGCONT"))),
      onForce: Effect.andThen(trace(true), Effect.andThen(signalAll("SIGKILL"), Deferred.succeed(forced, undefined)))
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* member.requestStop
        const timeout = budget ?? defaultStopTimeout
        if (Option.isSome(yield* Effect.timeoutOption(member.ended, timeout))) return
        yield* member.force
        yield* Effect.timeoutOption(member.ended, forceWait)
      })
    )
    const child: Child = { ...member, [TypeId]: TypeId, pid, stopSignal }
    yield* Member.register(child)
    return child
  }))
