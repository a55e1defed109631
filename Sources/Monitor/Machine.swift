#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// The state all harts share: the platform, the virtual CLINT and PLIC, and
/// the real devices behind them. Lives in CShim's static machine storage and
/// is only touched under ``withMachine(_:)``'s lock, except for the fields
/// written once by the cold-boot hart before it publishes ``ready``.
struct Machine {
    var platform: PlatformDescription
    /// The monitor's own memory (image and hart blocks), walled off by PMP.
    var monitor: PlatformDescription.Region
    /// Where every hart enters the firmware: the start of DRAM, where
    /// QEMU's reset code jumps.
    var firmwareEntry: UInt64
    /// The configuration every hart shares, `hartID` aside.
    var hartTemplate: HartConfiguration
    /// The virtual CLINT and PLIC and their binding to the real ones.
    var fabric: InterruptFabric
    /// The firmware's view of the APLIC M domain on an AIA machine (its
    /// virtual MSI address registers; everything else is the real domain).
    var aplic: VirtualAPLIC
    /// The policies enabled at boot (Policy.swift; the offload policy serves
    /// the payload's hot SBI calls in the monitor, Offload.swift).
    var policies: Policies
    /// What to trace (`scripts/run --trace`), and the shared rate limit.
    var trace: TraceKinds
    var traceLimiter: TraceLimiter

    /// The real PLIC as a trapped guest access reaches it.
    var plicRegisters: PLICRegisters<PhysicalBus> {
        PLICRegisters(plic: Plic(bus: PhysicalBus(), base: platform.plic.base), view: fabric.plic,
                      size: platform.plic.size)
    }

    /// The real APLIC M domain as a trapped guest access reaches it; the
    /// caller stores ``APLICRegisters/view`` back into ``aplic``.
    var aplicRegisters: APLICRegisters<PhysicalBus> {
        APLICRegisters(bus: PhysicalBus(), base: platform.aia.aplicMachine.base, view: aplic,
                       size: platform.aia.aplicMachine.size,
                       forbidden: (monitor, platform.clint, platform.aia.aplicMachine, platform.plic,
                                   policies.sandbox ? platform.memory : PlatformDescription.Region(base: 0, size: 0)))
    }
}

/// Set by the cold-boot hart once ``Machine`` is initialised (plain .bss word).
nonisolated(unsafe) var machineReady: UInt32 = 0

@inline(__always)
var machinePointer: UnsafeMutablePointer<Machine> {
    firmvisor_machine_storage().assumingMemoryBound(to: Machine.self)
}

/// Runs `body` on the shared machine state under the machine lock.
@inline(__always)
func withMachine<R>(_ body: (inout Machine) -> R) -> R {
    let lock = firmvisor_machine_lock()
    firmvisor_lock(lock)
    let result = body(&machinePointer.pointee)
    firmvisor_unlock(lock)
    return result
}

/// Rings hart `hart`'s doorbell: its real `msip`. The hart traps, clears it
/// and re-reads the virtual devices.
@inline(__always)
func ringDoorbell(hart: Int, clintBase: UInt64) {
    mmio_write32(UInt(clintBase + 4 * UInt64(hart)), 1)
}

/// Rings the doorbell of every hart in `harts` except `me`.
@inline(__always)
func ringDoorbells(_ harts: UInt64, except me: Int, clintBase: UInt64) {
    var rest = harts & ~(1 << UInt64(me))
    while rest != 0 {
        let hart = rest.trailingZeroBitCount
        rest &= rest - 1
        ringDoorbell(hart: hart, clintBase: clintBase)
    }
}
#endif
