#!/usr/bin/env node
/**
 * The `effect-supervise` command. Shutdown signals are caught first, before
 * the rest loads: as PID 1 of a container, a SIGTERM that comes while Node
 * loads the program would otherwise be dropped by the kernel. An older Node
 * than the package needs gets one line and exit code 2, not a stack trace.
 * Node's compile cache is on before the program loads, so a second start
 * skips compiling it: in its default directory (`os.tmpdir()`), or in
 * `NODE_COMPILE_CACHE`, which an image build can fill ahead of time
 * (docs/PERFORMANCE.md).
 *
 * @since 0.2.0
 */
// A namespace import: a named import of `enableCompileCache` is a link error
// (SyntaxError) on a Node without it, before the version check could run.
import * as Module from "node:module"
import { install } from "./EarlySignals.ts"

install()

const required = [22, 19] as const
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
if (major < required[0] || (major === required[0] && minor < required[1])) {
  process.stderr.write(`effect-supervise: needs Node >= ${required.join(".")} (this is ${process.versions.node})\n`)
  process.exitCode = 2
} else {
  Module.enableCompileCache?.()
  await import("./cli/main.ts")
}
