import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup/processLeaks.ts"],
    testTimeout: 30_000,
    reporters: ["default", "json"],
    outputFile: { json: ".ci/test-results.json" },
    hookTimeout: 30_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // Process entry points: run as real processes by the command line's tests, not in-process.
      exclude: ["src/bin.ts", "src/cli/main.ts", "src/early-signals.ts"],
      reporter: ["text-summary", "text"],
      thresholds: {
        statements: 95,
        branches: 95,
        functions: 95,
        lines: 95,
        // The supervision logic itself: every branch.
        "src/Supervisor.ts": { branches: 100, statements: 100, functions: 100, lines: 100 },
        "src/Member.ts": { branches: 100, statements: 100, functions: 100, lines: 100 },
        "src/ShutdownSignal.ts": { branches: 100, statements: 100, functions: 100, lines: 100 }
      }
    }
  }
})
