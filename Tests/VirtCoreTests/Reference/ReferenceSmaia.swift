/// The machine-level AIA CSRs of one RV64 hart (Smaia), written from the AIA
/// specification ("Machine-level CSRs", "Interrupts for Machine and
/// Supervisor Levels", "Incoming MSI Controller") and from QEMU 7.2's
/// handlers for them, in QEMU's shape rather than the implementation's:
///
/// - every CSR access is one read-modify-write with a write mask, as QEMU's
///   `riscv_csrrw` calls it (`csrrw`: all ones; `csrrs`: the operand, also
///   the new value; `csrrc`: the operand, new value 0; no write: 0);
/// - `miselect` keeps `ISELECT_MASK` (0x1FF) (`rmw_xiselect`);
/// - the `iprio` array is 64 bytes, reset to `riscv_cpu_default_priority(i)`
///   except MEI's 0 (`riscv_cpu_reset`), every byte but MEI's written
///   (`rmw_iprio`);
/// - the interrupt file is QEMU's `eistate` array of `num_irqs` =
///   identities + 1 entries (`riscv_imsic_create`), one pending and one
///   enabled flag each, with `riscv_imsic_topei`, `riscv_imsic_eix_rmw`,
///   `riscv_imsic_topei_rmw` (a claim needs a nonzero write mask) and
///   `riscv_imsic_update` (the line is `eidelivery && topei`);
/// - the top M-level interrupt is `riscv_cpu_pending_to_irq` (a zero byte:
///   16 for MEI, 1 above MEI's default rank, 255 below; the lowest number
///   wins, ties to the higher interrupt number), and `mtopi` is
///   `read_mtopi`.
///
/// Only the M-level interrupts exist here: under the monitor `mideleg`
/// delegates every S- and VS-level interrupt, so they never reach `mtopi`
/// or the M-level order (`riscv_cpu_mirq_pending` also drops the VS bits).
/// MSIP and MTIP are inputs (device lines); MEIP is the file's line.
///
/// Legality of writes to read-only CSRs follows the specification (any
/// `rs1` other than `x0` is a write attempt), the project's documented
/// choice; QEMU 7.2 checks the write mask instead.
struct ReferenceSmaia {
    /// The six Zicsr forms reduced to what the hardware sees.
    enum Operation { case write, set, clear }

    /// Major interrupt numbers in default priority order, highest first
    /// (AIA "Defined major interrupts and default priorities"; QEMU 7.2's
    /// `default_iprio`, whose first rank is `IPRIO_DEFAULT_UPPER` = 4).
    static let defaultOrder = [47, 23, 46, 45, 22, 44, 43, 21, 42, 41, 20, 40,
                               11, 3, 7, 9, 1, 5, 12, 10, 2, 6,
                               39, 19, 38, 37, 18, 36, 35, 17, 34, 33, 16, 32]
    static let meiNumber = 11
    /// `IPRIO_DEFAULT_M`.
    static let meiDefault = 16

    /// `riscv_cpu_default_priority`: 255 for numbers the table leaves out.
    static func defaultPriority(_ irq: Int) -> Int {
        guard let rank = defaultOrder.firstIndex(of: irq) else { return 255 }
        return 4 + rank
    }

    /// The `iprio` bytes after QEMU 7.2's reset.
    static func resetIprio() -> [UInt8] {
        (0..<64).map { $0 == meiNumber ? 0 : UInt8(defaultPriority($0)) }
    }

    // Configuration.
    /// QEMU's `num_irqs`; 0 without an IMSIC.
    let numIrqs: Int
    var hasIMSIC: Bool { numIrqs > 0 }

    // State.
    var miselect: UInt64 = 0
    var iprio: [UInt8] = ReferenceSmaia.resetIprio()
    var pending: [Bool]
    var enabled: [Bool]
    var eidelivery: UInt64 = 0
    var eithreshold: UInt64 = 0
    /// `mie`'s MSIE, MTIE and MEIE.
    var mie: UInt64 = 0
    var msip = false
    var mtip = false
    var mstatusMIE = false

    init(identities: Int) {
        numIrqs = identities == 0 ? 0 : identities + 1
        pending = Array(repeating: false, count: max(numIrqs, 1))
        enabled = Array(repeating: false, count: max(numIrqs, 1))
    }

    // MARK: CSR instructions

    /// One CSR instruction in M-mode; the value for `rd`, or `nil` for an
    /// illegal-instruction exception. `writes` is Zicsr's rule (`csrrw`
    /// always; the others when `rs1` is not `x0` / `uimm` is not 0).
    mutating func execute(csr: UInt16, _ operation: Operation, operand: UInt64, writes: Bool) -> UInt64? {
        if writes && csr >> 10 == 3 { return nil }
        var newValue: UInt64 = 0
        var mask: UInt64 = 0
        if writes {
            switch operation {
            case .write: (newValue, mask) = (operand, ~0)
            case .set: (newValue, mask) = (operand, operand)
            case .clear: (newValue, mask) = (0, operand)
            }
        }
        switch csr {
        case 0x350:
            let old = miselect
            let m = mask & 0x1FF
            miselect = (old & ~m) | (newValue & m)
            return old
        case 0x351:
            return rmwIndirect(newValue, mask)
        case 0x35C:
            guard hasIMSIC else { return nil }
            let top = topei()
            if top != 0 && mask != 0 { pending[Int(top >> 16)] = false }
            return top
        case 0xFB0:
            return mtopi()
        case 0x308, 0x309:
            return 0
        default:
            return nil
        }
    }

    /// `mireg`: `rmw_xireg`.
    mutating func rmwIndirect(_ newValue: UInt64, _ mask: UInt64) -> UInt64? {
        let isel = miselect
        if isel >= 0x30 && isel <= 0x3F {
            guard isel & 1 == 0 else { return nil }
            let first = Int((isel - 0x30) / 2) * 8
            var old: UInt64 = 0
            for i in 0..<8 { old |= UInt64(iprio[first + i]) << (8 * UInt64(i)) }
            if mask != 0 {
                let merged = (old & ~mask) | (newValue & mask)
                for i in 0..<8 where first + i != ReferenceSmaia.meiNumber {
                    iprio[first + i] = UInt8((merged >> (8 * UInt64(i))) & 0xFF)
                }
            }
            return old
        }
        guard isel >= 0x70 && isel <= 0xFF, hasIMSIC else { return nil }
        switch isel {
        case 0x70:
            let old = eidelivery
            let m = mask & 1
            eidelivery = (old & ~m) | (newValue & m)
            return old
        case 0x72:
            let old = eithreshold
            let m = mask & 0x7FF
            eithreshold = (old & ~m) | (newValue & m)
            return old
        case 0x80...0xBF:
            return rmwArray(&pending, number: Int(isel - 0x80), newValue, mask)
        case 0xC0...0xFF:
            return rmwArray(&enabled, number: Int(isel - 0xC0), newValue, mask)
        default:
            return nil
        }
    }

    /// `riscv_imsic_eix_rmw` for XLEN = 64.
    private func rmwArray(_ flags: inout [Bool], number: Int, _ newValue: UInt64, _ mask: UInt64) -> UInt64? {
        guard number & 1 == 0 else { return nil }
        let word = number >> 1
        guard word < numIrqs / 64 else { return nil }
        let base = word * 64
        var old: UInt64 = 0
        for i in 0..<64 where flags[base + i] { old |= 1 << UInt64(i) }
        for i in 0..<64 where !(word == 0 && i == 0) && (mask >> UInt64(i)) & 1 == 1 {
            flags[base + i] = (newValue >> UInt64(i)) & 1 == 1
        }
        return old
    }

    // MARK: The interrupt file

    /// `riscv_imsic_topei`.
    func topei() -> UInt64 {
        guard hasIMSIC else { return 0 }
        let threshold = Int(eithreshold)
        let limit = threshold != 0 && threshold <= numIrqs ? threshold : numIrqs
        for i in 1..<max(limit, 1) where pending[i] && enabled[i] {
            return UInt64(i) << 16 | UInt64(i)
        }
        return 0
    }

    /// A write to the file's `seteipnum_le` (`riscv_imsic_write`).
    mutating func seteipnum(_ value: UInt64) {
        if value != 0 && value < UInt64(numIrqs) { pending[Int(value)] = true }
    }

    /// The file's interrupt line, the hart's MEIP (`riscv_imsic_update`).
    var meip: Bool { hasIMSIC && eidelivery != 0 && topei() != 0 }

    /// `mireg`'s value for `select`, without side effects; `nil` when
    /// illegal.
    func peek(select: UInt64) -> UInt64? {
        var copy = self
        copy.miselect = select
        return copy.rmwIndirect(0, 0)
    }

    // MARK: Interrupt order

    /// Pending, enabled M-level interrupts (`riscv_cpu_mirq_pending`).
    var ready: UInt64 {
        var bits: UInt64 = 0
        if msip { bits |= 1 << 3 }
        if mtip { bits |= 1 << 7 }
        if meip { bits |= 1 << 11 }
        return bits & mie
    }

    /// `riscv_cpu_pending_to_irq` for machine level.
    func top(of pending: UInt64) -> Int? {
        var best: Int?
        var bestPriority = Int.max
        for irq in 0..<64 where (pending >> UInt64(irq)) & 1 == 1 {
            var priority = Int(iprio[irq])
            if priority == 0 {
                if irq == ReferenceSmaia.meiNumber {
                    priority = ReferenceSmaia.meiDefault
                } else {
                    priority = ReferenceSmaia.defaultPriority(irq) < ReferenceSmaia.meiDefault ? 1 : 255
                }
            }
            if priority <= bestPriority {
                best = irq
                bestPriority = priority
            }
        }
        return best
    }

    /// `read_mtopi`.
    func mtopi() -> UInt64 {
        guard let irq = top(of: ready), irq > 0 else { return 0 }
        var priority = UInt64(iprio[irq])
        if priority == 0 && ReferenceSmaia.defaultPriority(irq) > ReferenceSmaia.meiDefault { priority = 255 }
        return UInt64(irq) << 16 | priority
    }

    /// The interrupt virtual M-mode takes now (`riscv_cpu_local_irq_pending`'s
    /// M-level step): in M-mode only with `mstatus.MIE`.
    func takenInterrupt(belowMachine: Bool) -> Int? {
        guard belowMachine || mstatusMIE else { return nil }
        return top(of: ready)
    }
}
