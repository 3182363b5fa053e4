// deploy/: the Kubernetes manifest's numbers against the example's own configuration
// (examples/service/config.ts reads the manifest's env, its defaults filling the rest), and
// the Dockerfile's essentials. Neither is deployed or built here.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "vitest"
import { apiPorts, load, names } from "../examples/service/config.ts"
import { parseAll, type Yaml } from "./helpers/miniYaml.ts"

const root = Path.join(import.meta.dirname, "..")
const read = (file: string) => Fs.readFileSync(Path.join(root, file), "utf8")

// Reads a path in the parsed YAML, failing with the path when something is missing.
const at = (value: Yaml, ...path: Array<string | number>): any =>
  path.reduce<any>((node, key) => {
    assert.isTrue(node !== null && typeof node === "object" && key in node, `missing ${path.join(".")}`)
    return node[key]
  }, value)

const [deployment, service] = parseAll(read("deploy/deployment.yaml"))
const pod = at(deployment, "spec", "template", "spec")
const container = at(pod, "containers", 0)
const env: Record<string, string> = Object.fromEntries(
  at(container, "env").map((variable: Yaml) => [at(variable, "name"), at(variable, "value")])
)
const containerPort = (name: string): number => at(container, "ports").find((port: Yaml) => at(port, "name") === name).containerPort

// After the budget the supervisor forces what is left and waits up to 1 s for it to be gone,
// then up to 1 s to flush its output, and its teardown up to 1 s more before it exits.
const marginSeconds = 3

describe("deploy/deployment.yaml", () => {
  it("is a Deployment and a Service; every variable it sets is one the service reads, and valid", async () => {
    assert.deepStrictEqual([at(deployment, "kind"), at(service, "kind")], ["Deployment", "Service"])
    assert.deepStrictEqual(Object.keys(env).filter((name) => !names.includes(name)), [])
    await Effect.runPromise(load(env))
  })

  it("terminationGracePeriodSeconds exceeds DRAIN_DELAY + GRACEFUL_SHUTDOWN_TIMEOUT with a margin", async () => {
    // Stated in the manifest, not left to the defaults: the default drain delay (0) loses requests in a rolling update.
    assert.containsAllKeys(env, ["DRAIN_DELAY", "GRACEFUL_SHUTDOWN_TIMEOUT"])
    const config = await Effect.runPromise(load(env))
    const defaults = await Effect.runPromise(load({}))
    assert.isTrue(Duration.isZero(defaults.drainDelay))
    assert.isAbove(Duration.toSeconds(config.drainDelay), 0)
    const grace = at(pod, "terminationGracePeriodSeconds")
    const needed = Duration.toSeconds(config.drainDelay) + Duration.toSeconds(config.budget) + marginSeconds
    assert.isAtLeast(grace, needed, `terminationGracePeriodSeconds ${grace} < DRAIN_DELAY + GRACEFUL_SHUTDOWN_TIMEOUT + ${marginSeconds} s`)
  })

  it("readiness probes /readyz and liveness /livez on the port the health endpoint listens on, on every interface", async () => {
    const config = await Effect.runPromise(load(env))
    assert.strictEqual(config.healthHost, "0.0.0.0")
    for (const [probe, path] of [["readinessProbe", "/readyz"], ["livenessProbe", "/livez"]] as const) {
      assert.strictEqual(at(container, probe, "httpGet", "path"), path)
      const port = at(container, probe, "httpGet", "port")
      assert.strictEqual(typeof port === "number" ? port : containerPort(port), config.metricsPort, probe)
    }
  })

  it("the container and the Service expose the API ports the workers bind, on every interface", async () => {
    const config = await Effect.runPromise(load(env))
    assert.strictEqual(config.apiHost, "0.0.0.0")
    const ports = apiPorts(config)
    assert.deepStrictEqual(ports.map((_, index) => containerPort(`api-${index + 1}`)), ports)
    assert.deepStrictEqual(
      at(service, "spec", "ports").map((port: Yaml) => [at(port, "port"), containerPort(at(port, "targetPort"))]),
      ports.map((port) => [port, port])
    )
    assert.deepStrictEqual(at(service, "spec", "selector"), at(deployment, "spec", "template", "metadata", "labels"))
  })
})

describe("deploy/Dockerfile", () => {
  const dockerfile = read("deploy/Dockerfile")
  const instructions = dockerfile.split("\n").filter((line) => /^[A-Z]+\s/.test(line))

  it("Node 24, tini as PID 1, STOPSIGNAL SIGTERM, and the entry that catches signals before it loads the program", () => {
    assert.match(instructions.find((line) => line.startsWith("FROM "))!, /^FROM node:24[-.\w]*$/)
    assert.include(instructions, `ENTRYPOINT ["/usr/bin/tini", "--"]`)
    assert.include(instructions, "STOPSIGNAL SIGTERM")
    assert.include(instructions, `CMD ["node", "examples/service/main.ts"]`)
    assert.include(read("examples/service/main.ts"), `import "../../src/early-signals.ts"`)
    assert.match(dockerfile, /HEALTH_HOST=0\.0\.0\.0/)
  })
})
