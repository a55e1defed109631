#if arch(riscv64)
import Platform

/// The monitor's console: the platform UART, written by polling.
///
/// The UART is shared with the guest; the monitor writes only at boot, when
/// it reports something once, and at power-off.
struct MonitorConsole: ByteSink {
    var uart: Uart16550<PhysicalBus>

    init(base: UInt64) { uart = Uart16550(bus: PhysicalBus(), base: base) }

    mutating func put(_ byte: UInt8) {
        if byte == 10 { uart.put(13) }
        uart.put(byte)
    }
}
#endif
