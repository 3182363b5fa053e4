// A server member scripted on the clock, for TestClock tests of the drain.
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Member from "../../src/Member.ts"

export interface ServerLog {
  readonly stopRequests: Array<number>
  readonly forces: Array<number>
}

export const fakeServer = (
  name: string,
  behaviour: { readonly stopsAfter?: Duration.Input; readonly ignoresStop?: boolean },
  log: ServerLog = { stopRequests: [], forces: [] }
) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const exit = yield* Deferred.make<Member.End>()
    const close = Deferred.succeed(exit, Member.End.Closed())
    const member = Member.make({
      name,
      kind: "server",
      exit,
      onStopRequest: Effect.gen(function*() {
        log.stopRequests.push(yield* Clock.currentTimeMillis)
        if (!behaviour.ignoresStop) {
          yield* Effect.forkIn(Effect.andThen(Effect.sleep(behaviour.stopsAfter ?? 0), close), scope)
        }
      }),
      onForce: Effect.gen(function*() {
        log.forces.push(yield* Clock.currentTimeMillis)
        yield* close
      })
    })
    yield* Effect.addFinalizer(() => member.requestStop)
    return member
  })
