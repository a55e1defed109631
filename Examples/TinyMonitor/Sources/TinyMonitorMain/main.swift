#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TinyMonitor

// Runs the demo firmware under the tiny monitor and prints the monitor's
// trace. Exit status 0 when the firmware powered off with the pass code.
var monitor = TinyMonitor(program: .demo(waitWithWFI: !CommandLine.arguments.contains("--spin")))
for event in monitor.run() {
    print(event)
}
print("steps \(monitor.steps), real lines masked on \(monitor.maskedSteps) steps, time \(monitor.host.time)")
guard monitor.powerOffCode == MemoryMap.powerOffPass else {
    print("tiny-monitor: the firmware did not power off")
    exit(1)
}
