#!/usr/bin/env node
/**
 * The `effect-supervise` command. Shutdown signals are caught first, before
 * the rest loads: as PID 1 of a container, a SIGTERM that comes while Node
 * loads the program would otherwise be dropped by the kernel.
 *
 * @since 0.2.0
 */
import { install } from "./EarlySignals.ts"

install()
await import("./cli/main.ts")
