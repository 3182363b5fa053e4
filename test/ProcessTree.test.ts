// The process table as the supervisor sees it: parsing /proc, a fake /proc, and the
// real tree with real processes (each one killed in `finally`).
import { afterAll, assert, describe, it, vi } from "vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ProcessTree from "../src/ProcessTree.ts"
import { killQuietly } from "./helpers/processes.ts"

/** A `/proc/<pid>/stat` line as Linux writes it (52 fields, starttime the 22nd). */
const statLine = (pid: number, comm: string, state: string, ppid: number, pgid: number, start: number) =>
  `${pid} (${comm}) ${state} ${ppid} ${pgid} ${pgid} 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 ${start} 3133440 382 ` +
  "18446744073709551615 94073579098112 94073579117993 140725912730592 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 " +
  "94073579134000 94073579135616 94074463166464 140725912734435 140725912734455 140725912734455 140725912735723 0\n"

const info = (pid: number, ppid: number, pgid: number, options?: { zombie?: boolean; start?: string }) => ({
  pid,
  ppid,
  pgid,
  zombie: options?.zombie ?? false,
  startTime: options?.start ?? `${pid}00`
})

const pids = (infos: ReadonlyArray<ProcessTree.ProcessInfo>) => infos.map((info) => info.pid).sort((a, b) => a - b)

// Fake /proc folders, removed after the file.
const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-supervise-proc-"))
afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))
let folders = 0
const fakeProc = (entries: Record<string, string | null>): string => {
  const proc = Path.join(root, String(folders++))
  for (const [entry, stat] of Object.entries(entries)) {
    Fs.mkdirSync(Path.join(proc, entry), { recursive: true })
    if (stat !== null) Fs.writeFileSync(Path.join(proc, entry, "stat"), stat, "latin1")
  }
  return proc
}

const run = <A>(effect: Effect.Effect<A>): A => Effect.runSync(effect)

describe("ProcessTree.parseStat", () => {
  it("reads pid, ppid, pgid, state and start time from a real line", () => {
    assert.deepStrictEqual(
      ProcessTree.parseStat(
        "10800 (cat) R 10798 10798 6807 0 -1 4194304 97 0 0 0 0 0 0 0 20 0 1 0 318157 3133440 382 18446744073709551615 " +
          "94073579098112 94073579117993 140725912730592 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94073579134000 94073579135616 " +
          "94074463166464 140725912734435 140725912734455 140725912734455 140725912735723 0\n"
      ),
      { pid: 10800, ppid: 10798, pgid: 10798, zombie: false, startTime: "318157" }
    )
  })

  it("a command name with spaces and parentheses does not shift the fields", () => {
    assert.deepStrictEqual(
      ProcessTree.parseStat(statLine(42, "my (odd) ) cmd", "S", 7, 40, 555)),
      { pid: 42, ppid: 7, pgid: 40, zombie: false, startTime: "555" }
    )
  })

  it("a zombie (Z) or dead (X) process is marked as such", () => {
    assert.isTrue(ProcessTree.parseStat(statLine(42, "sh", "Z", 7, 40, 555))?.zombie)
    assert.isTrue(ProcessTree.parseStat(statLine(42, "sh", "X", 7, 40, 555))?.zombie)
    assert.isFalse(ProcessTree.parseStat(statLine(42, "sh", "T", 7, 40, 555))?.zombie)
  })

  it("garbage is undefined", () => {
    for (const line of ["", "garbage", "12 (sh) S 1 2 3", "abc (sh) " + statLine(1, "x", "S", 0, 1, 1).split(") ")[1]]) {
      assert.isUndefined(ProcessTree.parseStat(line), JSON.stringify(line))
    }
  })
})

describe("ProcessTree.readProc", () => {
  it("reads every numeric entry; other entries are skipped and unreadable ones tolerated", () => {
    const proc = fakeProc({
      "1": statLine(1, "init", "S", 0, 1, 1),
      "100": statLine(100, "api", "S", 1, 100, 500),
      "101": statLine(101, "worker (x)", "R", 100, 100, 501),
      "102": statLine(102, "gone", "Z", 100, 100, 502),
      self: statLine(999, "test", "S", 1, 999, 9),
      net: null,
      "103": null, // exited between readdir and read
      "104": "garbage"
    })
    const snapshot = ProcessTree.readProc(proc)
    assert.isDefined(snapshot)
    assert.deepStrictEqual([...snapshot!.processes.keys()].sort((a, b) => a - b), [1, 100, 101, 102])
    assert.deepStrictEqual(snapshot!.processes.get(101), {
      pid: 101,
      ppid: 100,
      pgid: 100,
      zombie: false,
      startTime: "501"
    })
    assert.isTrue(snapshot!.processes.get(102)!.zombie)
  })

  it("a missing /proc is no table", () => {
    assert.isUndefined(ProcessTree.readProc(Path.join(root, "missing")))
  })

  it("a table missing more than half of its entries (EMFILE) is no table; half is still a table", () => {
    const readable = { "1": statLine(1, "init", "S", 0, 1, 1), "2": statLine(2, "kthreadd", "S", 0, 0, 1) }
    assert.isDefined(ProcessTree.readProc(fakeProc({ ...readable, "3": null, "4": null })))
    assert.isUndefined(ProcessTree.readProc(fakeProc({ ...readable, "3": null, "4": null, "5": "x" })))
  })

  it("reads the real /proc, this process included", () => {
    const snapshot = ProcessTree.readProc()
    assert.isDefined(snapshot)
    assert.strictEqual(snapshot!.processes.get(process.pid)?.ppid, process.ppid)
  })
})

describe("ProcessTree.Snapshot", () => {
  // 10 ─ 11 ─ 12 (zombie) ─ 13 ─ 14     20 (unrelated)   30 ⇄ 31 (a cycle)   40 (its own parent)
  //    └ 15 (other group)
  const snapshot = new ProcessTree.Snapshot([
    info(10, 1, 10),
    info(11, 10, 10),
    info(12, 11, 10, { zombie: true }),
    info(13, 12, 13),
    info(14, 13, 13),
    info(15, 10, 15),
    info(20, 1, 20),
    info(30, 31, 30),
    info(31, 30, 30),
    info(40, 40, 40)
  ])

  it("descendants: grandchildren and beyond, through a zombie, the zombie and the roots excluded", () => {
    assert.deepStrictEqual(pids(snapshot.descendants([10])), [11, 13, 14, 15])
    assert.deepStrictEqual(pids(snapshot.descendants([12])), [13, 14])
    assert.deepStrictEqual(pids(snapshot.descendants([10, 11])), [13, 14, 15], "a root is not its own descendant")
    assert.deepStrictEqual(pids(snapshot.descendants([20, 99])), [])
  })

  it("descendants: a cycle or a process that is its own parent does not loop", () => {
    assert.deepStrictEqual(pids(snapshot.descendants([30])), [31])
    assert.deepStrictEqual(pids(snapshot.descendants([40])), [])
  })

  it("liveInGroup: the group's members that are not zombies", () => {
    assert.deepStrictEqual(pids(snapshot.liveInGroup(10)), [10, 11])
    assert.deepStrictEqual(pids(snapshot.liveInGroup(13)), [13, 14])
    assert.deepStrictEqual(snapshot.liveInGroup(99), [])
  })

  it("isAlive: the very same process (pid and start time), not a zombie", () => {
    assert.isTrue(snapshot.isAlive(info(11, 10, 10)))
    assert.isFalse(snapshot.isAlive(info(11, 10, 10, { start: "999" })), "a later process reusing the pid")
    assert.isFalse(snapshot.isAlive(info(12, 11, 10)), "a zombie")
    assert.isFalse(snapshot.isAlive(info(99, 1, 99)), "gone")
  })
})

describe("ProcessTree.makeNode on a fake /proc", () => {
  it("isRunning reads the one process: running, zombie, pid reused, gone", () => {
    const tree = ProcessTree.makeNode({
      proc: fakeProc({ "5": statLine(5, "a", "S", 1, 5, 50), "6": statLine(6, "b", "Z", 1, 5, 60) })
    })
    assert.isTrue(run(tree.isRunning(info(5, 1, 5, { start: "50" }))))
    assert.isFalse(run(tree.isRunning(info(5, 1, 5, { start: "49" }))))
    assert.isFalse(run(tree.isRunning(info(6, 1, 5, { start: "60" }))))
    assert.isFalse(run(tree.isRunning(info(7, 1, 7, { start: "70" }))))
  })

  it("snapshot shares a table younger than maxAge and reads again once it is older", () => {
    const proc = fakeProc({ "5": statLine(5, "a", "S", 1, 5, 50) })
    const tree = ProcessTree.makeNode({ proc })
    const first = run(tree.snapshot(60_000))
    assert.deepStrictEqual([...first!.processes.keys()], [5])
    Fs.mkdirSync(Path.join(proc, "6"))
    Fs.writeFileSync(Path.join(proc, "6", "stat"), statLine(6, "b", "S", 5, 5, 60))
    assert.strictEqual(run(tree.snapshot(60_000)), first, "fresh: the same table, not read again")
    const second = run(tree.snapshot(0))
    assert.notStrictEqual(second, first)
    assert.deepStrictEqual(pids(second!.descendants([5])), [6], "read again: the new process is seen")
    assert.strictEqual(run(tree.snapshot(60_000)), second)
  })

  it("snapshot is undefined where /proc cannot be read", () => {
    const tree = ProcessTree.makeNode({ proc: Path.join(root, "missing") })
    assert.isUndefined(run(tree.snapshot(0)))
    assert.isUndefined(run(tree.snapshot(60_000)))
  })
})

// --- Real processes ---------------------------------------------------------------

const spawned = (child: ChildProcess.ChildProcess) =>
  new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(child.pid!))
    child.once("error", reject)
  })

const exited = (child: ChildProcess.ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode)
    else child.once("exit", (_code, signal) => resolve(signal))
  })

const stateOf = (pid: number): string | undefined => /^\d+ \(.*\) (\S)/.exec(Fs.readFileSync(`/proc/${pid}/stat`, "latin1"))?.[1]

/** Waits for a state the kernel reaches on its own time (a SIGSTOP taking effect): no event tells it. */
const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

describe("ProcessTree.makeNode on the real tree", () => {
  it("a detached process: its group exists, it is seen, then signalled, reaped and gone", async () => {
    const sleep = ChildProcess.spawn("sleep", ["30"], { detached: true, stdio: "ignore" })
    try {
      const pid = await spawned(sleep)
      const tree = ProcessTree.makeNode()
      assert.isTrue(run(tree.groupExists(pid)))
      const snapshot = run(tree.snapshot(0))!
      const seen = snapshot.processes.get(pid)!
      assert.deepInclude(seen, { pid, ppid: process.pid, pgid: pid, zombie: false })
      assert.include(pids(snapshot.descendants([process.pid])), pid)
      assert.deepStrictEqual(pids(snapshot.liveInGroup(pid)), [pid])
      assert.isTrue(run(tree.isRunning(seen)))
      assert.isFalse(run(tree.isRunning({ ...seen, startTime: "1" })), "same pid, another start: another process")

      run(tree.signalGroup(pid, "SIGTERM"))
      assert.strictEqual(await exited(sleep), "SIGTERM")
      assert.isFalse(run(tree.groupExists(pid)), "reaped: the group is gone")
      assert.isFalse(run(tree.isRunning(seen)))
      run(tree.signalGroup(pid, "SIGTERM")) // a gone group is not an error
      run(tree.signalProcess(pid, "SIGTERM"))
    } finally {
      killQuietly([sleep.pid!])
    }
  })

  it("signalProcess signals one process, never pid 0 or 1", async () => {
    const sleep = ChildProcess.spawn("sleep", ["30"], { detached: true, stdio: "ignore" })
    try {
      const pid = await spawned(sleep)
      const tree = ProcessTree.makeNode()
      run(tree.signalProcess(0, "SIGCONT")) // harmless even if it were sent
      run(tree.signalProcess(1, "SIGCONT"))
      run(tree.signalProcess(pid, "SIGKILL"))
      assert.strictEqual(await exited(sleep), "SIGKILL")
    } finally {
      killQuietly([sleep.pid!])
    }
  })

  it("groups 0 and 1 and the test process's own group are never signalled", async () => {
    const ownPgid = ProcessTree.parseStat(Fs.readFileSync("/proc/self/stat", "latin1"))!.pgid
    // In the worker's own group, stopped: a SIGCONT sent to the group would wake it. SIGCONT is
    // harmless to every other process, should kill(0) or kill(-1) be reached by mistake.
    const stopped = ChildProcess.spawn("sleep", ["30"], { stdio: "ignore" })
    // Running, in the worker's own group, to show a SIGTERM sent to the group is not sent.
    const running = ChildProcess.spawn("sleep", ["30"], { stdio: "ignore" })
    const started = Promise.all([spawned(stopped), spawned(running)])
    const onTerm = () => {} // should it reach this worker after all, it must not end it
    process.on("SIGTERM", onTerm)
    try {
      const [stoppedPid, runningPid] = await started
      const tree = ProcessTree.makeNode()
      assert.strictEqual(run(tree.snapshot(0))!.processes.get(stoppedPid)!.pgid, ownPgid)
      process.kill(stoppedPid, "SIGSTOP")
      await until(() => stateOf(stoppedPid) === "T", "the sleep to stop")

      for (const pgid of [0, 1, ownPgid]) run(tree.signalGroup(pgid, "SIGCONT"))
      // SIGCONT wakes a stopped process within the kill(2) call itself: no need to wait.
      assert.strictEqual(stateOf(stoppedPid), "T", "still stopped: no SIGCONT was sent")
      run(tree.signalProcess(stoppedPid, "SIGCONT"))
      assert.notStrictEqual(stateOf(stoppedPid), "T", "the observation works: a SIGCONT does wake it")

      run(tree.signalGroup(ownPgid, "SIGTERM"))
      // A SIGTERM sent before would have set its exit status already (the kernel marks a
      // fatal signal's group exit during kill(2)): dying by SIGKILL shows none was sent.
      process.kill(runningPid, "SIGKILL")
      assert.strictEqual(await exited(running), "SIGKILL")
    } finally {
      killQuietly([stopped.pid!, running.pid!])
      await Promise.all([exited(stopped), exited(running)])
      process.off("SIGTERM", onTerm)
    }
  })

  it("groupExists: ESRCH and EPERM (how macOS reports a group of zombies) mean gone; another error, still there", () => {
    const tree = ProcessTree.makeNode()
    const failing = (code: string) =>
      vi.spyOn(process, "kill").mockImplementation(() => {
        throw Object.assign(new Error(code), { code })
      })
    for (const [code, exists] of [["ESRCH", false], ["EPERM", false], ["EINVAL", true]] as const) {
      const kill = failing(code)
      try {
        assert.strictEqual(run(tree.groupExists(12345)), exists, code)
        assert.deepStrictEqual(kill.mock.calls, [[-12345, 0]], "kill(-pgid, 0): a probe, no signal")
      } finally {
        kill.mockRestore()
      }
    }
  })

  it("the layer is the node tree", () => {
    const tree = Effect.runSync(Effect.provide(Effect.gen(function*() {
      return yield* ProcessTree.ProcessTree
    }), ProcessTree.layer))
    assert.isTrue(Effect.runSync(tree.groupExists(ProcessTree.parseStat(Fs.readFileSync("/proc/self/stat", "latin1"))!.pgid)))
  })
})

describe("ProcessTree.walkChildren", () => {
  /** A fake /proc where each process has tasks, each with its children list. */
  const fakeTree = (processes: Record<number, { stat: string; tasks: Record<number, Array<number>> }>) => {
    const proc = fakeProc(Object.fromEntries(Object.entries(processes).map(([pid, { stat }]) => [pid, stat])))
    for (const [pid, { tasks }] of Object.entries(processes)) {
      for (const [task, children] of Object.entries(tasks)) {
        Fs.mkdirSync(Path.join(proc, pid, "task", task), { recursive: true })
        Fs.writeFileSync(Path.join(proc, pid, "task", task, "children"), children.map((child) => `${child} `).join(""))
      }
    }
    return proc
  }

  it("finds the whole subtree, through every thread's children, zombies' children included but not zombies", () => {
    const proc = fakeTree({
      10: { stat: statLine(10, "leader", "S", 1, 10, 1), tasks: { 10: [11], 12: [13] } },
      11: { stat: statLine(11, "in-group", "S", 10, 10, 2), tasks: { 11: [] } },
      13: { stat: statLine(13, "dead", "Z", 10, 10, 3), tasks: { 13: [14] } },
      14: { stat: statLine(14, "escaped", "S", 13, 14, 4), tasks: { 14: [] } }
    })
    assert.deepStrictEqual(pids(ProcessTree.walkChildren([10], proc)!), [11, 14])
    assert.strictEqual(ProcessTree.walkChildren([10], proc)!.find((found) => found.pid === 14)?.pgid, 14)
  })

  it("a first root that is gone gives no answer; other roots that are gone are skipped", () => {
    const proc = fakeTree({ 10: { stat: statLine(10, "leader", "S", 1, 10, 1), tasks: { 10: [11] } } })
    assert.isUndefined(ProcessTree.walkChildren([99], proc))
    // 11 is listed as a child but gone since: skipped too.
    assert.deepStrictEqual(ProcessTree.walkChildren([10, 98], proc), [])
  })

  it("on the real tree: a child's own child is found, with its process group", () => {
    const parent = ChildProcess.spawn("sh", ["-c", "sleep 30 & wait"], { stdio: "ignore", detached: true })
    try {
      const deadline = Date.now() + 5_000
      let found: Array<ProcessTree.ProcessInfo> | undefined = []
      // The shell forks its sleep on its own schedule: look until it is there.
      while (found !== undefined && found.length === 0 && Date.now() < deadline) found = ProcessTree.walkChildren([parent.pid!])
      assert.strictEqual(found?.length, 1)
      assert.strictEqual(found?.[0].pgid, parent.pid)
      assert.strictEqual(found?.[0].ppid, parent.pid)
    } finally {
      try {
        process.kill(-parent.pid!, "SIGKILL")
      } catch {
        // gone
      }
    }
  })
})
