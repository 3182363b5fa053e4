/**
 * Test doubles for supervising under `TestClock`.
 *
 * @since 0.1.0
 */
export * as TestSpawner from "./TestSpawner.ts"
