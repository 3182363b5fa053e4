// Helpers of the fault matrix: children of fixtures/faulty.ts that log their
// events to a file, and waits on those events (woken by file-system events, not sleeps).
import * as Fs from "node:fs"
import * as Path from "node:path"
import { isGone, killQuietly, tempFile } from "../helpers/processes.ts"

export const faultyModule = Path.join(import.meta.dirname, "fixtures", "faulty.ts")
export const parentModule = Path.join(import.meta.dirname, "fixtures", "parent.ts")

export interface LogLine {
  readonly event: string
  readonly pid: number
  readonly name: string
}

const read = (file: string): Array<LogLine> => {
  let text = ""
  try {
    text = Fs.readFileSync(file, "utf8")
  } catch {
    return []
  }
  return text.split("\n").filter((line) => line.length > 0).map((line) => {
    const [event, pid, name] = line.split(" ")
    return { event, pid: Number(pid), name }
  })
}

/** One log file shared by the children of a test. */
export const eventLog = (label: string) => {
  const file = tempFile(`${label}.log`)
  const lines = () => read(file)
  return {
    file,
    lines,
    /** Resolves with the first `count` lines of `event` once they are written. */
    waitFor: (event: string, count: number, timeoutMs = 15_000): Promise<Array<LogLine>> =>
      new Promise((resolve, reject) => {
        const watcher = Fs.watch(Path.dirname(file), () => check())
        const timer = setTimeout(() => {
          watcher.close()
          reject(new Error(`${count} × "${event}" not logged within ${timeoutMs} ms: ${JSON.stringify(lines())}`))
        }, timeoutMs)
        const check = () => {
          const found = lines().filter((line) => line.event === event)
          if (found.length >= count) {
            clearTimeout(timer)
            watcher.close()
            resolve(found.slice(0, count))
          }
        }
        check()
      }),
    /** Every pid that logged "ready": children and grandchildren. */
    pids: () => lines().filter((line) => line.event === "ready").map((line) => line.pid),
    count: (event: string, name: string) => lines().filter((line) => line.event === event && line.name === name).length,
    /** For `finally`: SIGKILL whatever is still running. */
    cleanup: () => killQuietly(lines().filter((line) => line.event === "ready").map((line) => line.pid))
  }
}

export const alive = (pids: ReadonlyArray<number>): Array<number> => pids.filter((pid) => !isGone(pid))
