#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Everything one hart's monitor keeps: the firmware's virtual hart, the
/// world that runs, and counters. Lives in CShim's per-hart storage.
struct HartContext {
    let index: Int
    /// The world whose state is installed in the real CSRs.
    var installed: World = .firmware {
        didSet {
            plainCSRFastPath = installed == .firmware && !trace.contains(.csr)
            firmvisor_set_fast_path(frame, plainCSRFastPath && assemblyFastPath ? 1 : 0)
        }
    }
    /// This hart's trap frame (trap.S reads the CSR slots there; `fast` records which vector mtvec holds).
    let frame: UnsafeMutablePointer<firmvisor_frame>
    /// trap.S's fast path may run: the slots it writes were verified at boot
    /// to be this hart's virtual `mscratch`, `mepc`, `mcause`, `mtval`.
    var assemblyFastPath = false
    /// The trap path may serve the firmware's plain CSR accesses at once:
    /// the firmware's world is installed and CSR accesses are not traced.
    var plainCSRFastPath = true
    /// What `scripts/run --trace` asked for (``TraceKinds``).
    let trace: TraceKinds
    /// The payload's SBI set_timer may take the trap path's short cut:
    /// offload on, Sstc, SBI calls not traced.
    var sstcTimerFastPath = false
    /// The payload's offloaded set_timer (without Sstc) programmed the
    /// firmware's `mtimecmp` since the firmware last ran: its expiry is the
    /// payload's timer event, which the monitor completes as OpenSBI would
    /// (``completeOffloadedTimerEvent()``).
    var payloadOwnsTimer = false
    /// The policies enabled at boot (``Policies``) and the sandbox's state.
    let policies: Policies
    var sandbox = SandboxState()
    /// DRAM as the memory node describes it (the sandbox's payload memory
    /// is this less the firmware's own ranges).
    let memory: PlatformDescription.Region
    /// Kinds of unsupported guest actions already reported (one bit each).
    var reported: UInt32 = 0
    let clintBase: UInt64
    let layout: PMPLayout
    /// The real `mie` as last written, so a return skips an unchanged write.
    var installedEnables: UInt64 = ~0
    /// The real `mstatus` when the current trap was taken.
    var entryStatus: UInt64 = 0
    /// The firmware world's PMP currently makes data accesses trap (MPRV).
    var mprvInstalled = false
    /// `pmpcfg0`/`pmpcfg2` of the payload's world
    /// (``PMPLayout/payloadConfiguration(_:)``), recomputed when the
    /// firmware's PMP changes rather than on every world switch.
    var payloadPMPConfiguration: (UInt64, UInt64) = (0, 0)
    /// The real `pmpaddr0`…`pmpaddr14` hold the current walls and the
    /// firmware's virtual entries (``installPMP(configuration:catchAll:)``).
    var pmpAddressesInstalled = false
    /// This hart's `mtimecmp` in the virtual CLINT, cached for the trap path.
    var timerDeadline: UInt64 = VirtualCLINT.resetMTimeCmp
    /// The hart's load reservation on a device (an emulated `lr`): the real
    /// hart keeps one reservation, whichever world made it.
    var deviceReservation = DeviceReservation()
    /// The real triggers hold ``VirtualHart/triggers`` at this
    /// ``TriggerModule/generation`` translated for this world
    /// (``installTriggers()``); `nil` before the first install.
    var installedTriggers: (generation: UInt32, world: World, worldDependent: Bool)? = nil
    /// The firmware's virtual hart, and the counters, last: the fields
    /// above, read on every trap, stay within a load's 12-bit offset of
    /// the context's address (RISC-V I-type immediates), which the large
    /// virtual hart would otherwise push beyond.
    var hart: VirtualHart
    var statistics = Statistics()

    /// The hart has an M-level IMSIC file, which is the monitor's inbox
    /// (``configureMachineFile(identities:)``): MEIP is the firmware's
    /// virtual file's line, not the real `mip.MEIP`.
    @inline(__always)
    var drainsMachineFile: Bool { hart.configuration.smaia.imsicIdentities > 0 }

    init(hart: VirtualHart, index: Int, clintBase: UInt64, layout: PMPLayout, trace: TraceKinds,
         frame: UnsafeMutablePointer<firmvisor_frame>, policies: Policies, memory: PlatformDescription.Region) {
        self.policies = policies
        self.memory = memory
        self.hart = hart
        self.index = index
        self.frame = frame
        self.clintBase = clintBase
        self.layout = layout
        self.trace = trace
        plainCSRFastPath = !trace.contains(.csr)
    }
}

/// Unsupported guest actions that the monitor reports once per hart.
enum Unsupported: UInt32 {
    case mtimeWrite = 0
    case mprv = 1
    case fenceTimeout = 2
    case msiAddress = 3
}

@inline(__always)
func hartContext(_ hartid: UInt64) -> UnsafeMutablePointer<HartContext> {
    firmvisor_hart_storage(hartid).assumingMemoryBound(to: HartContext.self)
}

extension HartContext {
    /// Prints a one-line report the first time this hart meets `kind`.
    mutating func reportOnce(_ kind: Unsupported, _ message: StaticString, value: UInt64) {
        let bit: UInt32 = 1 << kind.rawValue
        guard reported & bit == 0 else { return }
        reported |= bit
        let base = withMachine { $0.platform.uart.base }
        var console = MonitorConsole(base: base)
        console.write("[firmvisor] hart ")
        console.write(decimal: UInt64(index))
        console.write(": ")
        console.write(message)
        console.write(" (")
        console.write(hex: value)
        console.write(")\n")
    }
}
#endif
