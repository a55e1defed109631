import Platform
import VirtCore

/// The physical memory map of the simulated machine (QEMU `virt`'s).
public enum MemoryMap {
    public static let testDevice: UInt64 = 0x0010_0000
    public static let testDeviceSize: UInt64 = 0x1000
    public static let clint: UInt64 = 0x0200_0000
    public static let plic: UInt64 = 0x0C00_0000
    /// The PLIC's `reg` size on QEMU `virt` (8 harts).
    public static let plicSize: UInt64 = 0x60_0000
    public static let firmware: UInt64 = 0x8010_0000
    public static let payload: UInt64 = 0x8020_0000
    /// `sifive_test`'s power-off command.
    public static let powerOffPass: UInt32 = 0x5555

    /// The same machine as Platform describes it (a monitor reads it from
    /// the device tree with `PlatformDescription(deviceTree:)`).
    public static var platform: PlatformDescription {
        var p = PlatformDescription()
        p.harts = 2
        p.clint = .init(base: clint, size: VirtualCLINT.size)
        p.plic = .init(base: plic, size: plicSize)
        p.plicSources = 95
        p.testDevice = .init(base: testDevice, size: testDeviceSize)
        p.memory = .init(base: 0x8000_0000, size: 0x1000_0000)
        return p
    }
}

/// Instruction words at their addresses, and the labels they were built with.
public struct Program: Sendable {
    public var segments: [(base: UInt64, words: [UInt32])]
    public var labels: [String: UInt64]

    /// The word at `pc`, or `nil` outside every segment.
    public func fetch(_ pc: UInt64) -> UInt32? {
        for segment in segments where pc >= segment.base && pc % 4 == 0 {
            let index = Int((pc - segment.base) / 4)
            if index < segment.words.count { return segment.words[index] }
        }
        return nil
    }

    public func address(of label: String) -> UInt64 {
        guard let address = labels[label] else { preconditionFailure("no label \(label)") }
        return address
    }

    /// The timer deadline the demo firmware programs.
    public static let deadline: Int64 = 200

    /// The demo: a firmware that sets up its CSRs, programs the CLINT and the
    /// PLIC, waits for its timer interrupt (with `wfi`, or spinning on a flag
    /// the handler sets when `waitWithWFI` is false), enters an S-mode
    /// payload with `mret`, takes the payload's `ecall` and powers off.
    public static func demo(waitWithWFI: Bool = true) -> Program {
        var fw = Assembler(origin: MemoryMap.firmware)
        fw.define("payload", at: MemoryMap.payload)
        fw.label("start")
        fw.emit(Encode.addi(Reg.a1, Reg.zero, 0x5A))
        fw.emit(Encode.csrrw(Reg.a0, CSR.mscratch.rawValue, Reg.a1))   // mscratch = 0x5A
        fw.la(Reg.t0, "vectors")
        fw.emit(Encode.addi(Reg.t0, Reg.t0, Int64(TrapVector.vectored)))
        fw.emit(Encode.csrrw(Reg.zero, CSR.mtvec.rawValue, Reg.t0))    // vectored mtvec
        // CLINT: mtimecmp[0] = deadline, then an IPI to (parked) hart 1.
        fw.li(Reg.t0, Int64(MemoryMap.clint + VirtualCLINT.mtimecmpOffset))
        fw.li(Reg.t1, deadline)
        fw.label("mtimecmp_store")
        fw.emit(Encode.sd(Reg.t1, 0, Reg.t0))
        fw.li(Reg.t0, Int64(MemoryMap.clint))
        fw.emit(Encode.addi(Reg.t1, Reg.zero, 1))
        fw.emit(Encode.sw(Reg.t1, 4, Reg.t0))                            // msip[1] = 1
        // PLIC: priority[1] = 1, enable source 1 in hart 0's M context.
        fw.li(Reg.t3, Int64(MemoryMap.plic))
        fw.emit(Encode.addi(Reg.t4, Reg.zero, 1))
        fw.emit(Encode.sw(Reg.t4, 4, Reg.t3))
        fw.li(Reg.t3, Int64(MemoryMap.plic + VirtualPLIC.enableOffset(context: 0, word: 0)))
        fw.emit(Encode.addi(Reg.t4, Reg.zero, 2))
        fw.label("enable_store")
        fw.emit(Encode.sw(Reg.t4, 0, Reg.t3))
        // mie.MTIE, then mstatus.MIE.
        fw.emit(Encode.addi(Reg.t2, Reg.zero, Int64(InterruptBits.mtip.rawValue)))
        fw.emit(Encode.csrrs(Reg.zero, CSR.mie.rawValue, Reg.t2))
        fw.emit(Encode.csrrsi(Reg.zero, CSR.mstatus.rawValue, 8))
        if waitWithWFI {
            fw.label("wait")
            fw.emit(Encode.wfi)
        } else {
            fw.label("wait")
            fw.beq(Reg.s1, Reg.zero, "wait")                             // until the handler sets s1
        }
        fw.label("after_wait")
        // Enter the payload in S-mode: mepc = payload, MPP = S, mret.
        fw.la(Reg.t0, "payload")
        fw.emit(Encode.csrrw(Reg.zero, CSR.mepc.rawValue, Reg.t0))
        fw.li(Reg.t1, Int64(MStatus.mpp.rawValue))
        fw.emit(Encode.csrrc(Reg.zero, CSR.mstatus.rawValue, Reg.t1))
        fw.li(Reg.t1, 1 << 11)
        fw.emit(Encode.csrrs(Reg.zero, CSR.mstatus.rawValue, Reg.t1))
        fw.label("enter_payload")
        fw.emit(Encode.mret)

        // The vectored trap table: exceptions at the base, MTI at base + 4 x 7.
        fw.org(MemoryMap.firmware + 0x100)
        fw.label("vectors")
        fw.jal(Reg.zero, "exception")
        fw.org(MemoryMap.firmware + 0x100 + 4 * Interrupt.machineTimer.rawValue)
        fw.label("timer")
        fw.li(Reg.t0, Int64(MemoryMap.clint + VirtualCLINT.mtimecmpOffset))
        fw.emit(Encode.addi(Reg.t1, Reg.zero, -1))
        fw.emit(Encode.sd(Reg.t1, 0, Reg.t0))                            // mtimecmp = max: the line falls
        fw.emit(Encode.addi(Reg.s1, Reg.zero, 1))
        fw.emit(Encode.mret)
        fw.label("exception")
        fw.emit(Encode.csrrs(Reg.a0, CSR.mcause.rawValue, Reg.zero))     // a0 = mcause
        fw.li(Reg.t0, Int64(MemoryMap.testDevice))
        fw.li(Reg.t1, Int64(MemoryMap.powerOffPass))
        fw.label("power_off")
        fw.emit(Encode.sw(Reg.t1, 0, Reg.t0))                            // power off
        fw.label("hang")
        fw.jal(Reg.zero, "hang")

        var payload = Assembler(origin: MemoryMap.payload)
        payload.emit(Encode.addi(Reg.a7, Reg.zero, 0x4C))
        payload.label("payload_ecall")
        payload.emit(Encode.ecall)

        var labels = fw.labels
        labels.merge(payload.labels) { first, _ in first }
        return Program(segments: [(fw.origin, fw.assemble()), (payload.origin, payload.assemble())], labels: labels)
    }
}
