/**
 * A scripted `ChildProcessSpawner` and `ProcessTree` for deterministic tests
 * under `TestClock`. Each command behaves as its script says (exit on its
 * own, drain for a while after its stop signal, ignore it, be stopped, fail
 * to spawn, take time to spawn), may have descendants in its process group or
 * in groups of their own, and writes scripted output. Every signal is
 * recorded with the clock time.
 *
 * It behaves as the real spawner does where a supervisor can tell: a spawn
 * interrupted halfway kills the new process unreported; the handle's scope
 * clean-up signals the group and waits for it, `forceKillAfter` then SIGKILL,
 * and counts zombies as alive; as PID 1 (`{ pid1: true }`), exited
 * descendants stay zombies, since nobody reaps them.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { constant } from "effect/Function"
import * as Layer from "effect/Layer"
import * as PlatformError from "effect/PlatformError"
import type * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner, ExitCode, make as makeSpawner, makeHandle, ProcessId } from "effect/process/ChildProcessSpawner"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { type ProcessInfo, ProcessTree, Snapshot } from "../ProcessTree.ts"

/**
 * How a scripted process, or one of its descendants, behaves.
 *
 * @since 0.2.0
 * @category models
 */
export interface Behaviour {
  /** Exits on its own this long after it started. */
  readonly exitAfter?: Duration.Input | undefined
  /** The code it exits with on its own; 1 unless `exitSignal` is set. */
  readonly exitCode?: number | undefined
  /** Dies on its own by this signal instead of exiting with a code. */
  readonly exitSignal?: string | undefined
  /** How long it drains after a stop signal (any signal but SIGKILL and SIGCONT). */
  readonly drainFor?: Duration.Input | undefined
  /** How its drain ends: exit code 0 unless given (e.g. `{ code: 3 }` or `{ signal: "SIGSEGV" }`). */
  readonly drainEnds?: { readonly code: number } | { readonly signal: string } | undefined
  /** Keeps running after a stop signal; only SIGKILL ends it. */
  readonly ignoresSigterm?: boolean | undefined
  /** Starts stopped (SIGSTOP): signals other than SIGKILL wait for a SIGCONT. */
  readonly stopped?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Script extends Behaviour {
  /** The spawn itself fails, as a missing or non-executable file does. */
  readonly failsToSpawn?: "NotFound" | "PermissionDenied" | undefined
  /** The spawn takes this long; interrupted meanwhile, the process is killed and never returned. */
  readonly spawnTakes?: Duration.Input | undefined
  /** Descendants in the child's own process group (named `<command>.g<i>`). */
  readonly group?: ReadonlyArray<Behaviour> | undefined
  /**
   * Descendants that left for a group of their own (named `<command>.e<i>`). An
   * `untraceable` one has been reparented away already, as a double-forked daemon has.
   */
  readonly escaped?: ReadonlyArray<Behaviour & { readonly untraceable?: boolean | undefined }> | undefined
  /** Chunks written to stdout / stderr at start; the pipes close when every process holding them is gone. */
  readonly stdout?: ReadonlyArray<string | Uint8Array> | undefined
  readonly stderr?: ReadonlyArray<string | Uint8Array> | undefined
  /** Writes `READY=1` on its lifeline (fd 3) this long after it started. */
  readonly readyAfter?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Event {
  /** Clock time in milliseconds. */
  readonly at: number
  /** The command, or `<command>.g<i>` / `<command>.e<i>` for a descendant. */
  readonly command: string
  readonly pid: number
  /** "spawned", a signal's name, "exited", or "spawn-interrupted". */
  readonly kind: string
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
  /** The processes not yet exited (zombies excluded), by name. */
  readonly running: Effect.Effect<ReadonlyArray<string>>
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

/**
 * The names of the processes still running.
 *
 * @since 0.2.0
 * @category accessors
 */
export const running: Effect.Effect<ReadonlyArray<string>, never, TestSpawner> = TestSpawner.use((spawner) =>
  spawner.running
)

interface Status {
  readonly code: number | null
  readonly signal: string | null
}

interface Proc {
  readonly pid: number
  ppid: number
  readonly pgid: number
  readonly name: string
  readonly behaviour: Behaviour
  readonly exited: Deferred.Deferred<Status>
  /** The scope its timers run in: the spawn's. */
  readonly scope: Scope.Scope
  readonly tree: Tree
  state: "running" | "zombie" | "reaped"
  stopped: boolean
  stopPending: boolean
  draining: boolean
}

/** One spawn: the leader and its descendants, who share its output pipes. */
interface Tree {
  holders: number
  readonly outputClosed: Deferred.Deferred<void>
}

const durationOf = (input: Duration.Input | undefined) => Duration.fromInputUnsafe(input ?? 0)

/**
 * Provides `ChildProcessSpawner` and `ProcessTree` running `scripts` (by
 * command name), and the {@link TestSpawner} log. An unscripted command fails
 * to spawn as NotFound.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  scripts: Record<string, Script>,
  options?: {
    /** The supervisor is PID 1: exited descendants stay zombies, since nobody reaps them. */
    readonly pid1?: boolean | undefined
    /** The process table cannot be read (no /proc, or out of file descriptors). */
    readonly noProcessTable?: boolean | undefined
  }
): Layer.Layer<ChildProcessSpawner | ProcessTree | TestSpawner> => {
  const log: Array<Event> = []
  const procs = new Map<number, Proc>()
  let nextPid = 1000

  const record = (proc: Pick<Proc, "name" | "pid">, kind: string, extra: Partial<Event> = {}) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      log.push({ at, command: proc.name, pid: proc.pid, kind, ...extra })
    })

  // A death in two steps, as the kernel does it: the process is gone at once (a group signalled
  // dies as one), and whoever waits on it hears of it after.
  const markDead = (proc: Proc, status: Status): Effect.Effect<void> => {
    if (proc.state !== "running") return Effect.void
    // The leader is Node's own child, reaped at once; as PID 1 nobody reaps the others.
    proc.state = options?.pid1 && proc.ppid !== 0 ? "zombie" : "reaped"
    for (const orphan of procs.values()) {
      if (orphan.ppid === proc.pid) orphan.ppid = 1
    }
    return Effect.gen(function*() {
      yield* record(proc, "exited", status)
      if (--proc.tree.holders === 0) yield* Deferred.succeed(proc.tree.outputClosed, undefined)
      yield* Deferred.succeed(proc.exited, status)
    })
  }
  const die = (proc: Proc, status: Status) => Effect.suspend(() => markDead(proc, status))

  const drain = (proc: Proc) =>
    Effect.gen(function*() {
      proc.draining = true
      const ends = proc.behaviour.drainEnds ?? { code: 0 }
      yield* Effect.sleep(durationOf(proc.behaviour.drainFor)).pipe(
        Effect.andThen(die(proc, "code" in ends ? { code: ends.code, signal: null } : { code: null, signal: ends.signal })),
        Effect.forkIn(proc.scope, { startImmediately: true })
      )
    })

  // Applies a signal to each process at once; what follows (deaths heard of, drains) comes after.
  const deliverAll = (targets: ReadonlyArray<Proc>, signal: string) =>
    Effect.gen(function*() {
      const running = targets.filter(isRunning)
      for (const proc of running) yield* record(proc, signal)
      if (signal === "SIGKILL") {
        const notices = running.map((proc) => markDead(proc, { code: null, signal: "SIGKILL" }))
        for (const notice of notices) yield* notice
        return
      }
      for (const proc of running) {
        if (signal === "SIGCONT") {
          if (proc.stopped) {
            proc.stopped = false
            if (proc.stopPending && !proc.draining) yield* drain(proc)
          }
        } else if (!proc.behaviour.ignoresSigterm) {
          if (proc.stopped) proc.stopPending = true
          else if (!proc.draining) yield* drain(proc)
        }
      }
    })
  const deliver = (proc: Proc, signal: string) => deliverAll([proc], signal)

  const inGroup = (pgid: number) => [...procs.values()].filter((proc) => proc.pgid === pgid && proc.state !== "reaped")
  const isRunning = (proc: Proc) => proc.state === "running"

  const start = (
    name: string,
    behaviour: Behaviour,
    place: { readonly ppid: number; readonly pgid?: number },
    scope: Scope.Scope,
    tree: Tree
  ) =>
    Effect.gen(function*() {
      const pid = nextPid++
      const proc: Proc = {
        pid,
        ppid: place.ppid,
        pgid: place.pgid ?? pid,
        name,
        behaviour,
        exited: yield* Deferred.make<Status>(),
        scope,
        tree,
        state: "running",
        stopped: behaviour.stopped ?? false,
        stopPending: false,
        draining: false
      }
      procs.set(pid, proc)
      tree.holders++
      yield* record(proc, "spawned")
      if (behaviour.exitAfter !== undefined) {
        const status: Status = behaviour.exitSignal === undefined
          ? { code: behaviour.exitCode ?? 1, signal: null }
          : { code: null, signal: behaviour.exitSignal }
        yield* Effect.sleep(behaviour.exitAfter).pipe(Effect.andThen(die(proc, status)), Effect.forkIn(scope))
      }
      return proc
    })

  const infoOf = (proc: Proc): ProcessInfo => ({
    pid: proc.pid,
    ppid: proc.ppid,
    pgid: proc.pgid,
    zombie: proc.state === "zombie",
    startTime: String(proc.pid)
  })

  const signalGroup = (pgid: number, signal: string) => pgid <= 1 ? Effect.void : deliverAll(inGroup(pgid), signal)
  const groupExists = (pgid: number) => inGroup(pgid).length > 0

  const tree = ProcessTree.of({
    signalGroup,
    signalProcess: (pid, signal) => {
      const proc = procs.get(pid)
      return proc === undefined ? Effect.void : deliver(proc, signal)
    },
    isRunning: (info) => Effect.sync(() => procs.get(info.pid)?.state === "running"),
    groupExists: (pgid) => Effect.sync(() => groupExists(pgid)),
    descendantsOf: (roots) =>
      Effect.sync(() => {
        if (options?.noProcessTable || procs.get(roots[0])?.state !== "running") return undefined
        const found: Array<ProcessInfo> = []
        const queue = [...roots]
        while (queue.length > 0) {
          const parent = queue.pop()!
          for (const proc of procs.values()) {
            if (proc.ppid !== parent || proc.state === "reaped") continue
            queue.push(proc.pid)
            if (proc.state === "running") found.push(infoOf(proc))
          }
        }
        return found
      }),
    snapshot: () =>
      Effect.sync(() =>
        options?.noProcessTable ? undefined : new Snapshot(
          [...procs.values()].filter((proc) => proc.state !== "reaped").map(infoOf)
        )
      )
  })

  // The real spawner's terminateProcessGroup: signal, wait (zombies count), SIGKILL, wait.
  const awaitGroup = (pgid: number, limit: Duration.Duration) =>
    Effect.gen(function*() {
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(limit)
      while (groupExists(pgid) && (yield* Clock.currentTimeMillis) < deadline) yield* Effect.sleep(10)
    })
  const terminate = (leader: Proc, options: ChildProcess.KillOptions | undefined) =>
    Effect.gen(function*() {
      yield* signalGroup(leader.pgid, options?.killSignal ?? "SIGTERM")
      if (options?.forceKillAfter === undefined) {
        yield* Deferred.await(leader.exited)
        yield* awaitGroup(leader.pgid, Duration.seconds(1))
      } else {
        yield* awaitGroup(leader.pgid, Duration.fromInputUnsafe(options.forceKillAfter))
        if (groupExists(leader.pgid)) {
          yield* signalGroup(leader.pgid, "SIGKILL")
          yield* awaitGroup(leader.pgid, Duration.seconds(1))
        }
      }
      yield* Deferred.await(leader.exited)
    })

  const output = (chunks: ReadonlyArray<string | Uint8Array> | undefined, closed: Deferred.Deferred<void>) =>
    Stream.concat(
      Stream.fromIterable((chunks ?? []).map((chunk) => typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)),
      Stream.drain(Stream.fromEffect(Deferred.await(closed)))
    )

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
      const options = command._tag === "StandardCommand" ? command.options : {}
      const tree: Tree = { holders: 0, outputClosed: yield* Deferred.make<void>() }
      // ppid 0 marks the leader: Node's own child.
      const leader = yield* start(name, script, { ppid: 0 }, scope, tree)
      for (const [index, behaviour] of (script.group ?? []).entries()) {
        yield* start(`${name}.g${index}`, behaviour, { ppid: leader.pid, pgid: leader.pgid }, scope, tree)
      }
      for (const [index, behaviour] of (script.escaped ?? []).entries()) {
        yield* start(`${name}.e${index}`, behaviour, { ppid: behaviour.untraceable ? 1 : leader.pid }, scope, tree)
      }
      if (script.spawnTakes !== undefined) {
        // As the real spawner: interrupted before the spawn completes, the process is killed, unreported.
        yield* Effect.sleep(script.spawnTakes).pipe(
          Effect.onInterrupt(() => Effect.andThen(record(leader, "spawn-interrupted"), deliver(leader, "SIGTERM")))
        )
      }
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const exit = yield* Deferred.poll(leader.exited)
          const status = exit._tag === "Some" ? yield* exit.value : undefined
          if (status === undefined || status.code !== 0 || groupExists(leader.pgid)) {
            yield* terminate(leader, options)
          }
        })
      )
      return makeHandle({
        pid: ProcessId(leader.pid),
        exitCode: Effect.flatMap(Deferred.await(leader.exited), ({ code, signal }) =>
          code === null
            ? Effect.fail(PlatformError.systemError({
              _tag: "Unknown",
              module: "ChildProcess",
              method: "exitCode",
              description: `Process interrupted due to receipt of signal: '${signal}'`
            }))
            : Effect.succeed(ExitCode(code))),
        isRunning: Effect.sync(() => isRunning(leader)),
        kill: (killOptions) => terminate(leader, killOptions),
        stdin: Sink.drain,
        stdout: output(script.stdout, tree.outputClosed),
        stderr: output(script.stderr, tree.outputClosed),
        all: Stream.empty,
        getInputFd: constant(Sink.drain),
        getOutputFd: (fd) =>
          fd === 3 && script.readyAfter !== undefined
            ? Stream.concat(
              Stream.fromEffect(Effect.as(Effect.sleep(script.readyAfter), new TextEncoder().encode("READY=1\n"))),
              Stream.drain(Stream.fromEffect(Deferred.await(leader.exited)))
            )
            : Stream.drain(Stream.fromEffect(Deferred.await(leader.exited))),
        unref: Effect.succeed(Effect.void)
      })
    })
  return Layer.mergeAll(
    Layer.succeed(ChildProcessSpawner, makeSpawner(spawn)),
    Layer.succeed(ProcessTree, tree),
    Layer.succeed(
      TestSpawner,
      TestSpawner.of({
        events: Effect.sync(() => [...log]),
        running: Effect.sync(() => [...procs.values()].filter(isRunning).map((proc) => proc.name))
      })
    )
  )
}
