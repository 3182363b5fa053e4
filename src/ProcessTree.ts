/**
 * The processes of the machine as a supervisor needs to see them: which
 * process groups are still alive (unreaped zombies do not count), which
 * descendants a child has started (including those that left its process
 * group), and signals to groups and processes.
 *
 * On Linux the table is read from `/proc/<pid>/stat`; elsewhere (or when
 * `/proc` cannot be read, e.g. out of file descriptors) it is unavailable,
 * and only a group's existence, as `kill(-pgid, 0)` sees it, is known.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"

/**
 * @since 0.2.0
 * @category models
 */
export interface ProcessInfo {
  readonly pid: number
  readonly ppid: number
  readonly pgid: number
  /** Exited but not yet reaped by its parent: it runs nothing and holds nothing open. */
  readonly zombie: boolean
  /** When it started (clock ticks since boot), to tell a process from a later one reusing its pid. */
  readonly startTime: string
}

/**
 * Every process at one moment, indexed by parent and by group.
 *
 * @since 0.2.0
 * @category models
 */
export class Snapshot {
  readonly processes: ReadonlyMap<number, ProcessInfo>
  private readonly children = new Map<number, Array<ProcessInfo>>()
  private readonly groups = new Map<number, Array<ProcessInfo>>()
  constructor(processes: Iterable<ProcessInfo>) {
    const byPid = new Map<number, ProcessInfo>()
    for (const info of processes) {
      byPid.set(info.pid, info)
      push(this.children, info.ppid, info)
      push(this.groups, info.pgid, info)
    }
    this.processes = byPid
  }

  /** Every live process descended from one of `roots` (the roots excluded). */
  descendants(roots: Iterable<number>): Array<ProcessInfo> {
    const found: Array<ProcessInfo> = []
    const seen = new Set<number>(roots)
    const queue = [...seen]
    while (queue.length > 0) {
      for (const child of this.children.get(queue.pop()!) ?? []) {
        if (seen.has(child.pid)) continue
        seen.add(child.pid)
        queue.push(child.pid)
        if (!child.zombie) found.push(child)
      }
    }
    return found
  }

  /** The live (not zombie) members of group `pgid`. */
  liveInGroup(pgid: number): Array<ProcessInfo> {
    return (this.groups.get(pgid) ?? []).filter((info) => !info.zombie)
  }

  /** Whether the very process `info` describes (same pid, same start) is still alive. */
  isAlive(info: ProcessInfo): boolean {
    const now = this.processes.get(info.pid)
    return now !== undefined && !now.zombie && now.startTime === info.startTime
  }
}

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const values = map.get(key)
  if (values === undefined) map.set(key, [value])
  else values.push(value)
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Sends `signal` to every process of group `pgid`; a group that is gone is not an error. */
  readonly signalGroup: (pgid: number, signal: string) => Effect.Effect<void>
  /** Sends `signal` to one process; a process that is gone is not an error. */
  readonly signalProcess: (pid: number, signal: string) => Effect.Effect<void>
  /** Whether the very process `info` describes is still running (not a zombie): one read, not the table. */
  readonly isRunning: (info: ProcessInfo) => Effect.Effect<boolean>
  /** Whether any process, zombies included, is still in group `pgid`: cheap, no table read. */
  readonly groupExists: (pgid: number) => Effect.Effect<boolean>
  /**
   * The process table, or `undefined` where it cannot be read. One taken less
   * than `maxAgeMillis` ago is shared, so many members asking at once cost one read.
   */
  readonly snapshot: (maxAgeMillis: number) => Effect.Effect<Snapshot | undefined>
  /**
   * The live descendants of `roots`, found from each process's own list of
   * children: a few reads per process of the subtree, not the whole table.
   * `undefined` when the first root's list cannot be read (it is gone, or the
   * system has no `/proc/<pid>/task/<tid>/children`); other roots that are
   * gone are skipped.
   */
  readonly descendantsOf: (roots: ReadonlyArray<number>) => Effect.Effect<Array<ProcessInfo> | undefined>
}

/**
 * @since 0.2.0
 * @category services
 */
export class ProcessTree extends Context.Service<ProcessTree, Service>()("effect-supervise/ProcessTree") {}

/**
 * Parses one `/proc/<pid>/stat` line. The command name may hold spaces and
 * parentheses, so the fields are counted from its last `)`.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseStat = (line: string): ProcessInfo | undefined => {
  const close = line.lastIndexOf(")")
  if (close < 0) return undefined
  const pid = Number(line.slice(0, line.indexOf(" ")))
  // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
  const fields = line.slice(close + 2).split(" ")
  if (fields.length < 20 || !Number.isInteger(pid)) return undefined
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    zombie: fields[0] === "Z" || fields[0] === "X",
    startTime: fields[19]
  }
}

const readOrUndefined = (path: string): string | undefined => {
  try {
    return Fs.readFileSync(path, "latin1")
  } catch {
    return undefined
  }
}

/**
 * Reads the whole table from `/proc`; `undefined` when it cannot.
 *
 * @since 0.2.0
 * @category constructors
 */
export const readProc = (proc = "/proc"): Snapshot | undefined => {
  let entries: Array<string>
  try {
    entries = Fs.readdirSync(proc)
  } catch {
    return undefined
  }
  const table: Array<ProcessInfo> = []
  let unreadable = 0
  for (const entry of entries) {
    const first = entry.charCodeAt(0)
    if (first < 48 || first > 57) continue
    const line = readOrUndefined(`${proc}/${entry}/stat`)
    const info = line === undefined ? undefined : parseStat(line)
    if (info !== undefined) table.push(info)
    else unreadable++
  }
  // Processes exit between readdir and read; a table missing most of them (EMFILE) is no table.
  return unreadable > table.length ? undefined : new Snapshot(table)
}

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

/**
 * The live descendants of `roots`, walking `/proc/<pid>/task/<tid>/children`
 * (every thread's: a process may fork from any of them); `undefined` when the
 * first root's list cannot be read.
 *
 * @since 0.2.0
 * @category constructors
 */
export const walkChildren = (roots: ReadonlyArray<number>, proc = "/proc"): Array<ProcessInfo> | undefined => {
  const childrenOf = (pid: number): Array<number> | undefined => {
    let tasks: Array<string>
    try {
      tasks = Fs.readdirSync(`${proc}/${pid}/task`)
    } catch {
      return undefined
    }
    const found: Array<number> = []
    for (const task of tasks) {
      for (const child of (readOrUndefined(`${proc}/${pid}/task/${task}/children`) ?? "").split(" ")) {
        if (child !== "" && child !== "\n") found.push(Number(child))
      }
    }
    return found
  }
  const found: Array<ProcessInfo> = []
  const seen = new Set<number>(roots)
  const queue: Array<number> = []
  for (const [index, root] of roots.entries()) {
    const children = childrenOf(root)
    if (children === undefined && index === 0) return undefined
    queue.push(...(children ?? []))
  }
  while (queue.length > 0) {
    const pid = queue.pop()!
    if (seen.has(pid)) continue
    seen.add(pid)
    const info = parseStat(readOrUndefined(`${proc}/${pid}/stat`) ?? "")
    // Gone in the meantime: so are the children it had, or they were reparented away.
    if (info === undefined) continue
    if (!info.zombie) found.push(info)
    queue.push(...(childrenOf(pid) ?? []))
  }
  return found
}

/**
 * The live tree, read from `/proc` and signalled with `process.kill`. It
 * never signals its own process group, nor groups 0 and 1.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeNode = (options?: { readonly proc?: string | undefined }): Service => {
  const proc = options?.proc ?? "/proc"
  const own = parseStat(readOrUndefined(`${proc}/self/stat`) ?? "")
  const isForbidden = (pgid: number) => pgid <= 1 || pgid === own?.pgid
  let cached: { readonly at: number; readonly snapshot: Snapshot | undefined } | undefined
  const kill = (target: number, signal: string) => {
    try {
      process.kill(target, signal)
    } catch {
      // Gone already (ESRCH), or only zombies left where the system reports EPERM: nothing to signal.
    }
  }
  return ProcessTree.of({
    signalGroup: (pgid, signal) => Effect.sync(() => isForbidden(pgid) ? undefined : kill(-pgid, signal)),
    signalProcess: (pid, signal) => Effect.sync(() => pid <= 1 ? undefined : kill(pid, signal)),
    isRunning: (info) =>
      Effect.sync(() => {
        const now = parseStat(readOrUndefined(`${proc}/${info.pid}/stat`) ?? "")
        return now !== undefined && !now.zombie && now.startTime === info.startTime
      }),
    groupExists: (pgid) =>
      Effect.sync(() => {
        try {
          process.kill(-pgid, 0)
          return true
        } catch (error) {
          // EPERM: the group exists but nothing in it can be signalled (macOS reports zombies so).
          return errorCode(error) !== "ESRCH" && errorCode(error) !== "EPERM"
        }
      }),
    descendantsOf: (roots) => Effect.sync(() => walkChildren(roots, proc)),
    snapshot: (maxAgeMillis) => Effect.sync(() => {
      if (cached !== undefined && performance.now() - cached.at < maxAgeMillis) return cached.snapshot
      const snapshot = readProc(proc)
      cached = { at: performance.now(), snapshot }
      return snapshot
    })
  })
}

/**
 * The Node process tree (`/proc` and `process.kill`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<ProcessTree> = Layer.sync(ProcessTree, () => makeNode())
