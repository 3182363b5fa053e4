// Helpers for tests whose subject is a real process.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll } from "vitest"

export const fixture = (name: string): string => Path.join(import.meta.dirname, "..", "fixtures", name)

// One folder per test file, removed after it.
const tempDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-supervise-"))
afterAll(() => Fs.rmSync(tempDir, { recursive: true, force: true }))
let tempCount = 0

/** A fresh path in the worker's temp folder; `waitForLines` watches that folder. */
export const tempFile = (name: string): string => Path.join(tempDir, `${tempCount++}-${name}`)

const linesOf = (file: string): Array<string> => {
  try {
    return Fs.readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0)
  } catch {
    return []
  }
}

/** Resolves with the file's lines once it has at least `count`, woken by file-system events. */
export const waitForLines = (file: string, count: number, timeoutMs = 10_000): Promise<Array<string>> =>
  new Promise((resolve, reject) => {
    const watcher = Fs.watch(Path.dirname(file), () => check())
    const timer = setTimeout(() => {
      watcher.close()
      reject(new Error(`${file} did not reach ${count} lines within ${timeoutMs} ms: ${JSON.stringify(linesOf(file))}`))
    }, timeoutMs)
    const check = () => {
      const lines = linesOf(file)
      if (lines.length >= count) {
        clearTimeout(timer)
        watcher.close()
        resolve(lines)
      }
    }
    check()
  })

/** True when no live process has this pid (a zombie has already exited). */
export const isGone = (pid: number): boolean => {
  try {
    return /^\d+ \(.*\) Z/.test(Fs.readFileSync(`/proc/${pid}/stat`, "latin1"))
  } catch {
    return true
  }
}

/** Best-effort SIGKILL, for `finally` blocks that must leave nothing behind. */
export const killQuietly = (pids: ReadonlyArray<number>): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}
