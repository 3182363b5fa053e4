// Fails a test file that leaves a process behind. Every process spawned from
// this worker inherits the marker below, grandchildren included, so a scan of
// /proc finds them whatever their parent or process group became.
import * as Fs from "node:fs"
import { afterAll } from "vitest"

const marker = `EFFECT_SUPERVISE_TEST_WORKER=${process.pid}`
process.env.EFFECT_SUPERVISE_TEST_WORKER = String(process.pid)

const readOrEmpty = (path: string): string => {
  try {
    return Fs.readFileSync(path, "latin1")
  } catch {
    return ""
  }
}

/** Live (not zombie) processes other than this worker that carry the marker. */
export const leakedProcesses = (): Array<string> =>
  Fs.readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => readOrEmpty(`/proc/${pid}/environ`).split("\0").includes(marker))
    .filter((pid) => !/^\d+ \(.*\) Z/.test(readOrEmpty(`/proc/${pid}/stat`)))
    .map((pid) => `pid ${pid}: ${readOrEmpty(`/proc/${pid}/cmdline`).split("\0").join(" ").trim()}`)

afterAll(async () => {
  // A process killed at the end of the last test may still be on its way out.
  const deadline = Date.now() + 2_000
  let leaked = leakedProcesses()
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    leaked = leakedProcesses()
  }
  for (const pid of leaked.map((line) => Number(line.split(" ")[1].replace(":", "")))) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  if (leaked.length > 0) {
    throw new Error(`Processes left behind by this test file (now killed):\n${leaked.join("\n")}`)
  }
})
