// The bench's `cli` side runs the built bundle, `node dist/bin/bin.js`, as an installed
// package does. `ensureBuilt()` runs `npm run build` when the bundle is missing or older
// than anything it is built from (src/, package.json, package-lock.json, tsconfig*.json),
// and says which commit it is built from and when. `node bench/build.ts` does it alone.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.dirname(import.meta.dirname)
export const binPath = Path.join(root, "dist", "bin", "bin.js")

/** The newest modification time (ms) among the bundle's inputs, and the file it is from. */
const newestInput = (): { readonly file: string; readonly mtimeMs: number } => {
  const files = [
    ...Fs.readdirSync(Path.join(root, "src"), { recursive: true, encoding: "utf8" }).map((file) => Path.join("src", file)),
    "package.json",
    "package-lock.json",
    ...Fs.readdirSync(root).filter((file) => /^tsconfig.*\.json$/.test(file))
  ]
  let newest = { file: "", mtimeMs: 0 }
  for (const file of files) {
    const stat = Fs.statSync(Path.join(root, file))
    if (stat.isFile() && stat.mtimeMs > newest.mtimeMs) newest = { file, mtimeMs: stat.mtimeMs }
  }
  return newest
}

const git = (...args: Array<string>) =>
  ChildProcess.execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()

export interface Build {
  /** The commit checked out when the bench ran (the bundle is not older than any input, so built from it). */
  readonly commit: string
  /** Uncommitted changes to the bundle's inputs (src/, package.json, ...) at the time. */
  readonly dirty: boolean
  /** When dist/bin/bin.js was written (ISO). */
  readonly builtAt: string
  /** Whether this bench run built it, and why; how long `npm run build` took. */
  readonly builtByBench: boolean
  readonly reason: string
  readonly buildSeconds: number | null
  readonly bundleBytes: number
}

export const ensureBuilt = (log: (line: string) => void = console.error): Build => {
  const input = newestInput()
  const bin = Fs.statSync(binPath, { throwIfNoEntry: false })
  const reason = bin === undefined
    ? "dist/bin/bin.js is missing"
    : bin.mtimeMs < input.mtimeMs
    ? `dist/bin/bin.js is older than ${input.file}`
    : ""
  let buildSeconds: number | null = null
  if (reason !== "") {
    log(`${reason}: npm run build`)
    const startedAt = Date.now()
    const result = ChildProcess.spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] })
    if (result.status !== 0) throw new Error(`npm run build failed (${result.status ?? result.signal})`)
    buildSeconds = (Date.now() - startedAt) / 1000
  }
  const built = Fs.statSync(binPath)
  // The bundle's chunks: every .js file of dist/bin (esbuild names them by content hash).
  const dir = Path.dirname(binPath)
  const imported = [...Fs.readFileSync(binPath, "utf8").matchAll(/["'](\.\/[^"']+\.js)["']/g)].map((match) => match[1])
  const bundleBytes = [binPath, ...imported.map((file) => Path.join(dir, file))]
    .reduce((sum, file) => sum + (Fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0)
  return {
    commit: git("rev-parse", "HEAD"),
    dirty: git("status", "--porcelain", "--", "src", "package.json", "package-lock.json", "tsconfig*.json") !== "",
    builtAt: new Date(built.mtimeMs).toISOString(),
    builtByBench: reason !== "",
    reason: reason === "" ? "up to date" : reason,
    buildSeconds,
    bundleBytes
  }
}

if (import.meta.main) console.log(JSON.stringify(ensureBuilt(), null, 2))
