import VirtCore

/// The APLIC's machine-level root domain written from the AIA
/// specification's text ("Advanced Platform-Level Interrupt Controller"):
/// its register map as a table of every register that exists, listed from
/// the specification's table of the first 16 KiB and of the IDC structure,
/// and the four MSI address registers as plain 32-bit values with their
/// locks. Independent of `VirtualAPLIC`'s arithmetic
/// decoding; it shares only the register and route vocabulary.
///
/// Where the specification leaves a choice or QEMU 7.2 departs from it, the
/// reference takes the project's documented choice: the MSI address
/// registers only in MSI mode, IDCs only in direct mode and only for the
/// domain's harts; QEMU 7.2's writable bits of the high registers; and
/// each pair locked by its own high register's bit 31, as QEMU 7.2 does
/// (the specification's `mmsiaddrcfgh.L` would lock all four).
struct ReferenceAPLIC {
    let sources: Int
    let harts: Int
    let msiMode: Bool
    let table: [UInt64: APLICRegister]

    var mmsiaddrcfg: UInt32 = 0
    var mmsiaddrcfgh: UInt32 = 0
    var smsiaddrcfg: UInt32 = 0
    var smsiaddrcfgh: UInt32 = 0

    init(sources: Int, harts: Int, msiMode: Bool) {
        self.sources = sources
        self.harts = msiMode ? 0 : harts
        self.msiMode = msiMode
        var table: [UInt64: APLICRegister] = [
            0x0000: .domaincfg,
            0x1CDC: .setipnum, 0x1DDC: .clripnum, 0x1EDC: .setienum, 0x1FDC: .clrienum,
            0x2000: .setipnumLE, 0x2004: .setipnumBE, 0x3000: .genmsi,
        ]
        for source in stride(from: 1, through: sources, by: 1) {
            table[0x0000 + 4 * UInt64(source)] = .sourcecfg(source: source)
            table[0x3000 + 4 * UInt64(source)] = .target(source: source)
        }
        // setip[k] etc. hold sources 32k…32k+31: the words that hold some source 0…N.
        let words = Set((0...sources).map { $0 / 32 })
        for k in words {
            table[0x1C00 + 4 * UInt64(k)] = .setip(word: k)
            table[0x1D00 + 4 * UInt64(k)] = .inClrip(word: k)
            table[0x1E00 + 4 * UInt64(k)] = .setie(word: k)
            table[0x1F00 + 4 * UInt64(k)] = .clrie(word: k)
        }
        if msiMode {
            table[0x1BC0] = .mmsiaddrcfg
            table[0x1BC4] = .mmsiaddrcfgh
            table[0x1BC8] = .smsiaddrcfg
            table[0x1BCC] = .smsiaddrcfgh
        } else {
            for hart in 0..<harts {
                let idc = 0x4000 + 32 * UInt64(hart)
                table[idc + 0x00] = .idelivery(hart: hart)
                table[idc + 0x04] = .iforce(hart: hart)
                table[idc + 0x08] = .ithreshold(hart: hart)
                table[idc + 0x18] = .topi(hart: hart)
                table[idc + 0x1C] = .claimi(hart: hart)
            }
        }
        self.table = table
    }

    func decode(offset: UInt64) -> APLICRegister {
        table[offset] ?? .reserved
    }

    static func route(_ register: APLICRegister) -> APLICRoute {
        switch register {
        case .reserved: return .none
        case .mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh: return .virtual
        default: return .real
        }
    }

    func read(_ register: APLICRegister) -> UInt32 {
        switch register {
        case .mmsiaddrcfg: return mmsiaddrcfg
        case .mmsiaddrcfgh: return mmsiaddrcfgh
        case .smsiaddrcfg: return smsiaddrcfg
        case .smsiaddrcfgh: return smsiaddrcfgh
        default: return 0
        }
    }

    /// Bits of a high register: 31 (L), 28:24, 22:20, 18:16, 15:12, 11:0.
    static let highBits: [Int] = [31] + Array(24...28) + Array(20...22) + Array(16...18) + Array(0...15)

    static func keepHighBits(_ value: UInt32) -> UInt32 {
        highBits.reduce(0) { $0 | (value & (1 << UInt32($1))) }
    }

    mutating func write(_ register: APLICRegister, value: UInt32) {
        guard msiMode else { return }
        // "If bit L in mmsiaddrcfgh is set to one, mmsiaddrcfg and mmsiaddrcfgh are locked".
        // The specification's "also locks registers smsiaddrcfg and smsiaddrcfgh" is not what
        // QEMU 7.2 (measured natively) does: there smsiaddrcfgh's own bit 31 locks that pair.
        let machineLocked = (mmsiaddrcfgh >> 31) == 1
        let supervisorLocked = (smsiaddrcfgh >> 31) == 1
        switch register {
        case .mmsiaddrcfg: if !machineLocked { mmsiaddrcfg = value }
        case .mmsiaddrcfgh: if !machineLocked { mmsiaddrcfgh = Self.keepHighBits(value) }
        case .smsiaddrcfg: if !supervisorLocked { smsiaddrcfg = value }
        case .smsiaddrcfgh: if !supervisorLocked { smsiaddrcfgh = Self.keepHighBits(value) }
        default: break
        }
    }

    /// The fields of a low/high pair by the specification's bit positions.
    struct Fields: Equatable {
        var basePPN: UInt64
        var lhxs, lhxw, hhxs, hhxw: Int
        var locked: Bool

        init(low: UInt32, high: UInt32) {
            func field(_ from: Int, _ to: Int) -> Int { Int((high >> UInt32(from)) % (1 << UInt32(to - from + 1))) }
            basePPN = UInt64(field(0, 11)) * (1 << 32) + UInt64(low)
            lhxw = field(12, 15)
            hhxw = field(16, 18)
            lhxs = field(20, 22)
            hhxs = field(24, 28)
            locked = field(31, 31) == 1
        }

        /// "g = (Hart Index>>LHXW) & (2^HHXW - 1); h = Hart Index & (2^LHXW - 1);
        /// MSI address = (Base PPN | (g<<(HHXS+12)) | (h<<LHXS) | Guest Index)<<12",
        /// Guest Index truncated to LHXS bits as QEMU 7.2 does.
        func address(hartIndex: UInt64, guest: UInt64) -> UInt64 {
            let g = (hartIndex >> UInt64(lhxw)) % (1 << UInt64(hhxw))
            let h = hartIndex % (1 << UInt64(lhxw))
            let ppn = basePPN | g << UInt64(hhxs + 12) | h << UInt64(lhxs) | guest % (1 << UInt64(lhxs))
            return ppn << 12
        }
    }
}
