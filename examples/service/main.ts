// The entry point: `node examples/service/main.ts` (npm start). It catches
// shutdown signals first, then loads the program: static imports all load
// before any module runs, and loading the program takes hundreds of
// milliseconds, during which a SIGTERM would kill it (or, as PID 1 of a
// container, be dropped and lost). The supervisor takes the signals over.
import "../../src/early-signals.ts"

await import("./parent.ts")
