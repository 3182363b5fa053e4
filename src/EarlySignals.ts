/**
 * Catches shutdown signals from the very start of the process, before the
 * rest of the program has even loaded: `ShutdownSignal.layer` then takes them
 * over. Without it a signal that arrives while the modules load (hundreds of
 * milliseconds) kills the process, or, as PID 1 of a container, is ignored by
 * the kernel and lost, and the container runs on until it is SIGKILLed.
 *
 * It imports nothing, so that it loads in no time. `effect-supervise/early-signals`
 * calls {@link install} when imported; load it first, before the program's own
 * modules:
 *
 * ```sh
 * node --import effect-supervise/early-signals main.js
 * ```
 *
 * or from a small entry module that then imports the program dynamically
 * (static imports all load before any module runs):
 *
 * ```ts
 * import "effect-supervise/early-signals"
 * await import("./main.js")
 * ```
 *
 * Only a program that goes on to build `ShutdownSignal.layer` should install
 * it: until then, the signals it catches do nothing but wait.
 *
 * @since 0.2.0
 */

/**
 * The signals caught: the default drain signals and every other signal whose
 * default action would end the process, but for the faults (SIGSEGV and
 * such) and SIGPROF, which profilers (`node --cpu-prof`) use themselves.
 *
 * @since 0.2.0
 * @category constants
 */
export const caught: ReadonlyArray<NodeJS.Signals> = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR2",
  "SIGALRM",
  "SIGVTALRM",
  "SIGIO",
  "SIGPWR",
  "SIGSTKFLT",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGTRAP",
  "SIGSYS"
]

interface State {
  readonly received: Array<NodeJS.Signals>
  readonly listener: (signal: NodeJS.Signals) => void
}

const key = Symbol.for("effect-supervise/EarlySignals")
const store = globalThis as unknown as { [key]?: State | undefined }

/**
 * Starts recording the signals; done on import, and harmless to repeat.
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const install = (): void => {
  if (store[key] !== undefined) return
  const received: Array<NodeJS.Signals> = []
  const listener = (signal: NodeJS.Signals) => void received.push(signal)
  for (const signal of caught) {
    try {
      process.on(signal, listener)
    } catch {
      // A signal this platform does not have.
    }
  }
  store[key] = { received, listener }
}

/**
 * Stops recording and returns what was received, in order; empty when
 * {@link install} never ran. Call it once the real handlers are in place.
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const takeOver = (): ReadonlyArray<NodeJS.Signals> => {
  const state = store[key]
  if (state === undefined) return []
  store[key] = undefined
  for (const signal of caught) process.off(signal, state.listener)
  return state.received
}
