/// What a firmware write to the virtual CLINT changed, so that the monitor
/// knows which real resource to update.
///
/// Not called `none` on purpose: ``VirtualCLINT/write(offset:width:value:)``
/// returns an optional, and `.none` would silently mean "unsupported access".
public enum CLINTWrite: Equatable, Sendable {
    /// `msip[hart]` changed (ACLINT specification, "MSIP Registers"): the
    /// virtual MSIP of `hart` must be re-evaluated, which is an IPI to that
    /// hart when it is not the one that wrote.
    case msip(hart: Int)
    /// `mtimecmp[hart]` changed (ACLINT specification, "MTIMECMP Registers"):
    /// the real timer of `hart` must be reprogrammed and its virtual MTIP
    /// re-evaluated.
    case mtimecmp(hart: Int)
    /// A write to `mtime` (ACLINT specification, "MTIME Register"). The model
    /// stores nothing: the virtual `mtime` is always the real one, which the
    /// monitor cannot move without disturbing the payload's `time`. The
    /// monitor drops the write and reports that it did.
    case mtime
    /// A legal write that changed no state: the value already held, or only
    /// read-only-zero bits (`msip` bits 31:1) differed.
    case unchanged
}

/// The firmware's view of the CLINT: one ACLINT MSWI device followed by one
/// ACLINT MTIMER device, laid out as the SiFive CLINT on QEMU `virt`
/// (ACLINT specification, "Backward Compatibility With SiFive CLINT").
///
/// | offset | register | access |
/// |---|---|---|
/// | `4h` | `msip[h]` ("MSIP Registers"): bit 0, bits 31:1 read 0 | 32-bit |
/// | `0x4000 + 8h` | `mtimecmp[h]` ("MTIMECMP Registers") | 64-bit, or 32-bit to either half |
/// | `0xBFF8` | `mtime` ("MTIME Register") | 64-bit, or 32-bit to either half |
///
/// The host decides which single accesses exist (``accepts(offset:width:)``):
/// QEMU's ACLINT MSWI takes 32-bit accesses only, its MTIMER 32- and 64-bit
/// ones, both naturally aligned, and nothing is mapped at or above
/// ``mappedSize``; a refused access is an access fault (`read` and `write`
/// answer `nil`). Inside the devices, every offset that names no register
/// (`msip` or `mtimecmp` of a hart at or above ``harts``, the gaps) reads 0
/// and ignores writes, as the host does. Misaligned accesses, AMOs and LR/SC
/// are sequences of these accesses (``HostDeviceAccess``). `read` and `write`
/// are total functions of their input.
///
/// The model holds no clock: reads of `mtime` return the real time the
/// monitor passes in, and `mtime` writes are reported (``CLINTWrite/mtime``)
/// but not stored.
///
/// Reset values: `msip` is 0 (ACLINT, "MSIP Registers"); `mtimecmp` is all
/// ones (``resetMTimeCmp``). The ACLINT specification leaves `mtimecmp`
/// unknown at reset ("MTIMECMP Registers"); all ones means no machine timer
/// interrupt is pending before the firmware programs a deadline, whatever
/// `mtime` is. Documented difference: QEMU (`hw/intc/riscv_aclint.c`,
/// 7.1 onwards including 7.2) allocates `timecmp` zeroed, so natively
/// `mtimecmp` reads 0 before the first write; a differential test must not
/// compare `mtimecmp` before the firmware has written it.
public struct VirtualCLINT: Sendable {
    /// The largest number of harts the model serves.
    public static let maximumHarts = 64

    /// Offset of `msip[0]` (ACLINT MSWI, "Register Map").
    public static let msipOffset: UInt64 = 0x0000
    /// Offset of `mtimecmp[0]`: the MTIMER device starts at 0x4000 in the
    /// SiFive CLINT layout (ACLINT, "Backward Compatibility With SiFive CLINT").
    public static let mtimecmpOffset: UInt64 = 0x4000
    /// Offset of `mtime`: 0x4000 + 0x7FF8 (ACLINT MTIMER, "Register Map").
    public static let mtimeOffset: UInt64 = 0xBFF8
    /// Size of the CLINT region on QEMU `virt` (its device-tree `reg`).
    public static let size: UInt64 = 0x1_0000
    /// End of what is mapped: the MSWI's 0x4000 bytes and the MTIMER's
    /// 0x8000 (QEMU `virt`: `RISCV_ACLINT_SWI_SIZE`,
    /// `RISCV_ACLINT_DEFAULT_MTIMER_SIZE`); the rest of the window is not
    /// backed by a device.
    public static let mappedSize: UInt64 = 0xC000
    /// The value of every `mtimecmp` after reset: never reached, so no timer
    /// interrupt before the firmware programs one.
    public static let resetMTimeCmp: UInt64 = .max

    /// The number of harts, clamped to `1...maximumHarts`.
    public let harts: Int
    /// `msip[h]` bit 0 of every hart, as a bitmap (bit h = hart h).
    private var msipBits: UInt64 = 0
    /// `mtimecmp[h]` of every hart.
    private var deadlines: InlineArray<64, UInt64>

    @inline(__always) private func deadline(_ hart: Int) -> UInt64 {
        deadlines[hart]
    }

    /// `mtimecmp[hart]` read in place. A non-mutating read of the inline
    /// array copies all 512 bytes to the stack first in the release Embedded
    /// build (measured); through `inout` the array is addressed where it is.
    @inline(__always) private mutating func deadlineInPlace(_ hart: Int) -> UInt64 {
        withUnsafeMutablePointer(to: &deadlines) { UnsafeRawPointer($0).load(fromByteOffset: 8 * hart, as: UInt64.self) }
    }

    /// `msip[hart]`, MTIP at `time` and `mtimecmp[hart]` together, read in
    /// place (see ``mtimecmp(hart:)``; `mutating` only so that the 64-entry
    /// table is not copied): what a monitor's hot path re-reads after a
    /// doorbell or a timer change. A hart that does not exist has neither
    /// line and the reset deadline.
    public mutating func state(hart: Int, time: UInt64) -> (msip: Bool, mtip: Bool, mtimecmp: UInt64) {
        guard isHart(hart) else { return (false, false, VirtualCLINT.resetMTimeCmp) }
        let deadline = deadlineInPlace(hart)
        return (msipBits & (1 << UInt64(hart)) != 0, time >= deadline, deadline)
    }

    /// A CLINT serving `harts` harts (clamped to `1...maximumHarts`), in its
    /// reset state.
    public init(harts: Int) {
        self.harts = min(max(harts, 1), VirtualCLINT.maximumHarts)
        self.deadlines = InlineArray(repeating: VirtualCLINT.resetMTimeCmp)
    }

    // MARK: Monitor side

    /// `msip[hart]` bit 0 (ACLINT, "MSIP Registers"); false for a hart that
    /// does not exist.
    @inline(__always) public func msip(hart: Int) -> Bool {
        guard isHart(hart) else { return false }
        return msipBits & (1 << UInt64(hart)) != 0
    }

    /// Sets `msip[hart]` directly, as the monitor does for an IPI it emulates
    /// itself; ignored for a hart that does not exist.
    public mutating func setMSIP(hart: Int, _ pending: Bool) {
        guard isHart(hart) else { return }
        if pending {
            msipBits |= 1 << UInt64(hart)
        } else {
            msipBits &= ~(1 << UInt64(hart))
        }
    }

    /// `mtimecmp[hart]` (ACLINT, "MTIMECMP Registers"); ``resetMTimeCmp`` for
    /// a hart that does not exist.
    @inline(__always) public func mtimecmp(hart: Int) -> UInt64 {
        guard isHart(hart) else { return VirtualCLINT.resetMTimeCmp }
        return deadline(hart)
    }

    /// The virtual MTIP of `hart` at real time `time`: pending whenever
    /// `mtime >= mtimecmp`, unsigned (ACLINT, "MTIMECMP Registers"); false
    /// for a hart that does not exist.
    @inline(__always) public func mtip(hart: Int, time: UInt64) -> Bool {
        guard isHart(hart) else { return false }
        return time >= deadline(hart)
    }

    // MARK: Firmware side (MMIO)

    /// Emulates a firmware load of `width` bytes at `offset` from the CLINT
    /// base; `time` is the real `mtime`.
    ///
    /// Returns the value zero-extended to 64 bits, or `nil` when the access
    /// is not supported (width not 4 or 8, unaligned, a hole, a 64-bit access
    /// to `msip`, or a hart index at or above ``harts``).
    public func read(offset: UInt64, width: Int, time: UInt64) -> UInt64? {
        read(offset: offset, width: width, time: time, deadline: deadline)
    }

    /// ``read(offset:width:time:)`` without copying the deadline table.
    mutating func readInPlace(offset: UInt64, width: Int, time: UInt64) -> UInt64? {
        let deadlines = withUnsafeMutablePointer(to: &self.deadlines) { UnsafeRawPointer($0) }
        return read(offset: offset, width: width, time: time) { deadlines.load(fromByteOffset: 8 * $0, as: UInt64.self) }
    }

    @inline(__always)
    private func read(offset: UInt64, width: Int, time: UInt64, deadline: (Int) -> UInt64) -> UInt64? {
        guard accepts(offset: offset, width: width) else { return nil }
        switch decode(offset: offset, width: width) {
        case .reserved:
            return 0
        case .msip(let hart):
            return msip(hart: hart) ? 1 : 0
        case .mtimecmp(let hart, let part):
            return part.extract(from: deadline(hart))
        case .mtime(let part):
            return part.extract(from: time)
        }
    }

    /// Emulates a firmware store of the low `width` bytes of `value` at
    /// `offset` from the CLINT base.
    ///
    /// Returns what changed (see ``CLINTWrite``), or `nil` when the access is
    /// not supported (same rules as ``read(offset:width:time:)``). A 32-bit
    /// store to one half of `mtimecmp` keeps the other half.
    public mutating func write(offset: UInt64, width: Int, value: UInt64) -> CLINTWrite? {
        guard accepts(offset: offset, width: width) else { return nil }
        switch decode(offset: offset, width: width) {
        case .reserved:
            return .unchanged
        case .msip(let hart):
            // WARL, bits 31:1 tied to zero.
            let pending = value & 1 != 0
            if pending == msip(hart: hart) { return .unchanged }
            setMSIP(hart: hart, pending)
            return .msip(hart: hart)
        case .mtimecmp(let hart, let part):
            let old = deadlineInPlace(hart)
            let new = part.insert(value, into: old)
            if new == old { return .unchanged }
            withUnsafeMutablePointer(to: &deadlines) {
                UnsafeMutableRawPointer($0).storeBytes(of: new, toByteOffset: 8 * hart, as: UInt64.self)
            }
            return .mtimecmp(hart: hart)
        case .mtime:
            return .mtime
        }
    }

    // MARK: Decoding

    /// Which bytes of a 64-bit register an access covers.
    private enum Part {
        case whole, low, high

        func extract(from register: UInt64) -> UInt64 {
            switch self {
            case .whole: return register
            case .low: return register & 0xFFFF_FFFF
            case .high: return register >> 32
            }
        }

        func insert(_ value: UInt64, into register: UInt64) -> UInt64 {
            switch self {
            case .whole: return value
            case .low: return (register & ~0xFFFF_FFFF) | (value & 0xFFFF_FFFF)
            case .high: return (register & 0xFFFF_FFFF) | (value << 32)
            }
        }
    }

    private enum Register {
        case msip(hart: Int)
        case mtimecmp(hart: Int, Part)
        case mtime(Part)
        case reserved
    }

    private func isHart(_ hart: Int) -> Bool {
        hart >= 0 && hart < harts
    }

    /// Whether the host performs one naturally aligned access of `width`
    /// bytes at `offset`: 4 in the MSWI, 4 or 8 in the MTIMER, nothing past
    /// ``mappedSize`` (QEMU's `riscv_aclint` `MemoryRegionOps.valid`).
    public func accepts(offset: UInt64, width: Int) -> Bool {
        guard width == 4 || width == 8, offset & UInt64(width - 1) == 0,
              offset < VirtualCLINT.mappedSize else { return false }
        return offset >= VirtualCLINT.mtimecmpOffset || width == 4
    }

    /// The register an accepted access names.
    private func decode(offset: UInt64, width: Int) -> Register {
        let part: Part = width == 8 ? .whole : (offset & 4 == 0 ? .low : .high)
        if offset < VirtualCLINT.mtimecmpOffset {
            let hart = Int(offset / 4)
            return isHart(hart) ? .msip(hart: hart) : .reserved
        }
        if offset < VirtualCLINT.mtimeOffset {
            let hart = Int((offset - VirtualCLINT.mtimecmpOffset) / 8)
            return isHart(hart) ? .mtimecmp(hart: hart, part) : .reserved
        }
        if offset < VirtualCLINT.mtimeOffset + 8 {
            return .mtime(part)
        }
        return .reserved
    }
}
