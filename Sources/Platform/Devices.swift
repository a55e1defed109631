import VirtCore

/// The CLINT (SiFive CLINT / ACLINT MSWI + MTIMER layout): `msip[h]` at 4h,
/// `mtimecmp[h]` at 0x4000 + 8h, `mtime` at 0xBFF8 (ACLINT specification,
/// "MSWI Device" and "MTIMER Device").
public struct Clint<Bus: MMIOBus> {
    public var bus: Bus
    public let base: UInt64

    public init(bus: Bus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    /// Sets or clears hart `hart`'s machine software interrupt.
    @inlinable public mutating func setMSIP(hart: Int, _ pending: Bool) {
        bus.store32(base + 4 * UInt64(hart), pending ? 1 : 0)
    }

    @inlinable public mutating func msip(hart: Int) -> Bool {
        bus.load32(base + 4 * UInt64(hart)) & 1 != 0
    }

    /// Programs hart `hart`'s timer deadline.
    @inlinable public mutating func setMTimeCmp(hart: Int, _ deadline: UInt64) {
        bus.store64(base + 0x4000 + 8 * UInt64(hart), deadline)
    }

    @inlinable public mutating func mtimecmp(hart: Int) -> UInt64 {
        bus.load64(base + 0x4000 + 8 * UInt64(hart))
    }

    @inlinable public mutating func mtime() -> UInt64 {
        bus.load64(base + 0xBFF8)
    }
}

/// The PLIC (RISC-V PLIC specification, "Memory Map"): 32-bit registers only.
public struct Plic<Bus: MMIOBus> {
    public var bus: Bus
    public let base: UInt64

    public init(bus: Bus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    /// The M-mode context of hart h on QEMU `virt` (2h; 2h + 1 is its S-mode
    /// context): VirtCore's `VirtualPLIC` map, which every offset here comes from.
    @inlinable public static func machineContext(hart: Int) -> Int { VirtualPLIC.machineContext(hart: hart) }

    @inlinable public mutating func setPriority(source: Int, _ priority: UInt32) {
        store(offset: VirtualPLIC.priorityOffset + 4 * UInt64(source), priority)
    }

    /// Writes the 32 enable bits of sources `32 word ... 32 word + 31` for `context`.
    @inlinable public mutating func setEnableWord(context: Int, word: Int, _ bits: UInt32) {
        store(offset: VirtualPLIC.enableOffset(context: context, word: word), bits)
    }

    @inlinable public mutating func setThreshold(context: Int, _ threshold: UInt32) {
        store(offset: VirtualPLIC.thresholdOffset(context: context), threshold)
    }

    /// Claims the best pending interrupt of `context` (0 when none).
    @inlinable public mutating func claim(context: Int) -> UInt32 {
        load(offset: VirtualPLIC.thresholdOffset(context: context) + VirtualPLIC.claimOffset)
    }

    /// Signals completion of `source` in `context`.
    @inlinable public mutating func complete(context: Int, source: UInt32) {
        store(offset: VirtualPLIC.thresholdOffset(context: context) + VirtualPLIC.claimOffset, source)
    }

    /// The 32-bit register at `offset` from the base.
    @inlinable public mutating func load(offset: UInt64) -> UInt32 {
        bus.load32(base + offset)
    }

    /// Stores the 32-bit register at `offset` from the base.
    @inlinable public mutating func store(offset: UInt64, _ value: UInt32) {
        bus.store32(base + offset, value)
    }
}

/// A 16550-compatible UART, polled transmit only: the monitor's console.
public struct Uart16550<Bus: MMIOBus> {
    public var bus: Bus
    public let base: UInt64

    public init(bus: Bus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    /// Waits for the transmit holding register to empty (LSR bit 5), then sends `byte`.
    @inlinable public mutating func put(_ byte: UInt8) {
        var spins = 0
        while bus.load8(base + 5) & 0x20 == 0 && spins < 1_000_000 { spins += 1 }
        bus.store8(base, byte)
    }
}
