#!/usr/bin/env node
/**
 * The `effect-supervise` command. Shutdown signals are caught first, before
 * the rest loads: as PID 1 of a container, a SIGTERM that comes while Node
 * loads the program would otherwise be dropped by the kernel. Node's compile
 * cache is on before the program loads, so a second start skips compiling it.
 *
 * @since 0.2.0
 */
import { enableCompileCache } from "node:module"
import { install } from "./EarlySignals.ts"

install()
enableCompileCache?.()
await import("./cli/main.ts")
