// A child for the README example: works until SIGTERM, then drains for DRAIN_MS.
const keepAlive = setInterval(() => {}, 1 << 30)
process.on("SIGTERM", () => {
  console.log("draining")
  setTimeout(() => clearInterval(keepAlive), Number(process.env.DRAIN_MS ?? 0))
})
console.log(`up, pid ${process.pid}`)
