// Embed VirtCore in a monitor of your own: a virtual hart that executes the
// firmware's trapped instructions, trap injection, the M-mode interrupt life
// cycle of the virtual CLINT, and a device access performed as the host does.
// Everything the real machine would do is simulated in a few lines, and every
// step checks its result, so running the snippet is a test:
// `swift run EmbeddingVirtCore` prints a short transcript and exits 0.

import Platform
import VirtCore

// snippet.hide
/// Stops the snippet with a message and a non-zero exit status.
func check(_ condition: Bool, _ message: String, line: UInt = #line) {
    precondition(condition, "EmbeddingVirtCore.swift:\(line): \(message)")
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
// snippet.show

// snippet.hart
/// The guest's `x0`...`x31`. A bare-metal monitor keeps them in its trap
/// frame; VirtCore only needs a subscript (`x0` is handled by the library).
struct Registers: GeneralRegisters {
    var x = [UInt64](repeating: 0, count: 32)
    subscript(index: Int) -> UInt64 {
        get { x[index] }
        set { x[index] = newValue }
    }
}

/// The real hart under the virtual one: its counters and the S-level
/// external line. Here a clock that the snippet advances by hand.
struct Host: HartEnvironment {
    var time: UInt64 = 0
    mutating func readTime() -> UInt64 { time }
    mutating func readCycle() -> UInt64 { time }
    mutating func readInstret() -> UInt64 { time }
    mutating func supervisorExternalInterruptLine() -> Bool { false }
    // The H extension's CSRs live on the real hart; none are used here.
    mutating func readPassthroughCSR(_ csr: CSR) -> UInt64 { 0 }
    mutating func writePassthroughCSR(_ csr: CSR, _ value: UInt64) {}
}

// What the platform measured at boot; QEMU's `rv64` hart here.
var hart = VirtualHart(configuration: .qemuRV64(hartID: 0))
var registers = Registers()
var host = Host()

// The firmware, in real U-mode, executed `csrrw a0, mscratch, a1` at
// 0x8010_0000: the real hart trapped, and the monitor emulates it.
registers[11] = 0xF1F0
let result = hart.execute(0x3405_9573, pc: 0x8010_0000, registers: &registers, environment: &host)
check(result == .resume(pc: 0x8010_0004), "a CSR instruction continues after itself")
check(hart.mscratch == 0xF1F0 && registers[10] == 0, "mscratch written, old value in a0")
// snippet.end
print("hart:       csrrw a0, mscratch, a1 -> mscratch = \(hex(hart.mscratch)), resume at 0x80100004")

// snippet.trap
// `csrrw zero, mtvec, t0` installs the firmware's vectored trap table.
registers[5] = 0x8010_0101
_ = hart.execute(0x3052_9073, pc: 0x8010_0004, registers: &registers, environment: &host)

// An exception the real hart raised while the firmware ran (here an `ecall`
// in real U-mode) is injected as the firmware expects it in M-mode.
let handler = hart.takeTrap(.exception(.environmentCallFromM), value: 0, pc: 0x8010_0008)
check(handler == 0x8010_0100, "exceptions enter at the base of mtvec")
check(hart.mcause == 11 && hart.mepc == 0x8010_0008 && hart.mstatus.mpp == .machine,
      "mcause, mepc and MPP as the hardware writes them")
// snippet.end
print("trap:       ecall -> mtvec \(hex(handler)), mcause \(hart.mcause), mepc \(hex(hart.mepc))")

// snippet.interrupts
// One virtual CLINT and PLIC view for the machine (two harts here).
var fabric = InterruptFabric(harts: 2, plicSources: 31)
var reservation = DeviceReservation()
var actions = PhysicalActions()

// The firmware sets mie.MTIE (`csrrs zero, mie, t0`) and mstatus.MIE
// (`csrrsi zero, mstatus, 8`), then stores mtimecmp[0] = 1000.
registers[5] = InterruptBits.mtip.rawValue
_ = hart.execute(0x3042_A073, pc: 0x8010_000C, registers: &registers, environment: &host)
_ = hart.execute(0x3004_6073, pc: 0x8010_0010, registers: &registers, environment: &host)
check(hart.mie == [.mtip] && hart.mstatus.contains(.mie), "MTIE and MIE set")
let store = fabric.clintAccess(hart: 0, operation: .store(width: 8), offset: VirtualCLINT.mtimecmpOffset,
                               value: 1000, time: host.time, reservation: &reservation, actions: &actions)
check(store == .completed(value: 0), "an 8-byte mtimecmp store is accepted")
// The physical side, as data: program the real comparator of hart 0.
check(actions.timerHart == 0 && actions.deadline == 1000, "the real mtimecmp follows")
check(hart.physicalInterruptEnables(for: .firmware).contains(.mtip), "real MTIE on while MTIP is clear")

// A store to msip[1] rings hart 1's doorbell (its real msip).
_ = fabric.clintAccess(hart: 0, operation: .store(width: 4), offset: 4, value: 1,
                       time: host.time, reservation: &reservation, actions: &actions)
check(actions.doorbells == 0b10, "hart 1's doorbell")

// Time passes; the real MTI traps to the monitor, which records the lines...
host.time = 1000
let lines = fabric.lines(hart: 0, time: host.time)
hart.setDeviceLines(msip: lines.contains(.msip), mtip: lines.contains(.mtip), meip: false)
// ...masks the real MTIE while the line is recorded (no interrupt storm)...
check(!hart.physicalInterruptEnables(for: .firmware).contains(.mtip), "real MTIE masked while recorded")
// ...and injects the interrupt before returning to the firmware.
check(hart.pendingMachineInterrupt == .machineTimer, "MTI is takeable")
let vector = hart.injectPendingInterrupt(pc: 0x8010_0040)
check(vector == 0x8010_0100 + 4 * 7 && hart.mcause == (1 << 63) | 7, "vectored MTI, mcause 7")

// The firmware's handler moves mtimecmp past mtime: the line falls, and
// the real MTIE follows the virtual one again.
actions = PhysicalActions()
_ = fabric.clintAccess(hart: 0, operation: .store(width: 8), offset: VirtualCLINT.mtimecmpOffset,
                       value: .max, time: host.time, reservation: &reservation, actions: &actions)
hart.setDeviceLines(msip: false, mtip: fabric.lines(hart: 0, time: host.time).contains(.mtip), meip: false)
check(hart.pendingMachineInterrupt == nil, "nothing pending")
check(hart.physicalInterruptEnables(for: .firmware).contains(.mtip), "real MTIE re-armed")
// snippet.end
print("interrupts: mtimecmp 1000, doorbell to hart 1, MTI at time 1000 -> injected at \(hex(vector)), line cleared")

// snippet.devices
/// The real PLIC's registers, a word array standing in for the bus, with a
/// log of every store the monitor performs.
struct ArrayBus: MMIOBus {
    var words = [UInt64: UInt32]()
    var stores: [(address: UInt64, value: UInt64)] = []
    mutating func load32(_ address: UInt64) -> UInt32 { words[address, default: 0] }
    mutating func store32(_ address: UInt64, _ value: UInt32) {
        words[address] = value
        stores.append((address, UInt64(value)))
    }
    // load64, store64, load8 and store8 likewise (the PLIC takes 32-bit accesses only).
    // snippet.hide
    mutating func load64(_ address: UInt64) -> UInt64 {
        UInt64(load32(address)) | UInt64(load32(address + 4)) << 32
    }
    mutating func store64(_ address: UInt64, _ value: UInt64) {
        store32(address, UInt32(truncatingIfNeeded: value))
        store32(address + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
    mutating func load8(_ address: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: load32(address & ~3) >> (8 * (address & 3))) }
    mutating func store8(_ address: UInt64, _ value: UInt8) {}
    // snippet.show
}

// The firmware's view routes each access to the real PLIC at 0x0C00_0000.
let plicBase: UInt64 = 0x0C00_0000
var plic = PLICRegisters(plic: Plic(bus: ArrayBus(), base: plicBase), view: fabric.plic, size: 0x60_0000)

// `sw` of enable word 0 of hart 0's M context: the real store, then the
// store to priority[0] that makes the host re-evaluate its lines.
let enable = VirtualPLIC.enableOffset(context: VirtualPLIC.machineContext(hart: 0), word: 0)
let outcome = HostDeviceAccess.perform(.store(width: 4), offset: enable, value: 1 << 5,
                                       reservation: &reservation, on: &plic)
check(outcome == .completed(value: 0), "a 4-byte enable store is accepted")
check(plic.plic.bus.stores.map { $0.address } == [plicBase + enable, plicBase], "store, then re-evaluate")

// A size the device does not take faults, as natively (`mtval` = the address).
let wide = HostDeviceAccess.perform(.load(width: 8, signExtends: false), offset: enable, value: 0,
                                    reservation: &reservation, on: &plic)
check(wide == .exception(.loadAccessFault), "the PLIC takes 32-bit accesses only")
// snippet.end
print("devices:    enable store -> bus \(plic.plic.bus.stores.map { "\(hex($0.address))=\(hex($0.value))" }), ld -> load access fault")
print("EmbeddingVirtCore: all checks passed")
