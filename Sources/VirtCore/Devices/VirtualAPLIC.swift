/// A 32-bit register of an APLIC interrupt domain's control region (AIA
/// specification, "Advanced Platform-Level Interrupt Controller",
/// "Memory-mapped control region for an interrupt domain").
public enum APLICRegister: Equatable, Sendable {
    /// `domaincfg` ("Domain configuration").
    case domaincfg
    /// `sourcecfg[source]`, sources `1...sources`.
    case sourcecfg(source: Int)
    /// `mmsiaddrcfg`: Low Base PPN of machine-level MSI addresses.
    case mmsiaddrcfg
    /// `mmsiaddrcfgh`: L, the hart index fields and High Base PPN.
    case mmsiaddrcfgh
    /// `smsiaddrcfg`: Low Base PPN of supervisor-level MSI addresses.
    case smsiaddrcfg
    /// `smsiaddrcfgh`.
    case smsiaddrcfgh
    /// `setip[word]`: pending bits of sources 32·word…32·word+31.
    case setip(word: Int)
    /// `setipnum`.
    case setipnum
    /// `in_clrip[word]`: rectified inputs (load), clear pending (store).
    case inClrip(word: Int)
    /// `clripnum`.
    case clripnum
    /// `setie[word]`: enable bits.
    case setie(word: Int)
    /// `setienum`.
    case setienum
    /// `clrie[word]`: clear enable bits; reads 0.
    case clrie(word: Int)
    /// `clrienum`.
    case clrienum
    /// `setipnum_le`.
    case setipnumLE
    /// `setipnum_be`.
    case setipnumBE
    /// `genmsi` ("Generate MSI"); read-only zero in direct delivery mode.
    case genmsi
    /// `target[source]`, sources `1...sources`.
    case target(source: Int)
    /// `idelivery` of the IDC of hart index `hart` (direct delivery mode).
    case idelivery(hart: Int)
    /// `iforce` of an IDC.
    case iforce(hart: Int)
    /// `ithreshold` of an IDC.
    case ithreshold(hart: Int)
    /// `topi` of an IDC: read-only.
    case topi(hart: Int)
    /// `claimi` of an IDC: a load claims.
    case claimi(hart: Int)
    /// Anything else in the domain's window: sources, words and IDCs that do
    /// not exist, registers of the other delivery mode, the gaps. The
    /// specification makes them read-only zeros; QEMU 7.2 reads 0 and
    /// ignores writes.
    case reserved
}

/// What the monitor does with one 32-bit firmware access to the APLIC's
/// machine-level domain.
public enum APLICRoute: Equatable, Sendable {
    /// Perform the access on the real register.
    case real
    /// Perform it on the virtual copy (``VirtualAPLIC/readVirtual(_:)``,
    /// ``VirtualAPLIC/writeVirtual(_:value:)``); the real register is not
    /// touched.
    case virtual
    /// A reserved register: loads return 0, stores are dropped.
    case none
}

/// The firmware's view of the APLIC's machine-level (root) interrupt domain
/// (AIA specification, "Advanced Platform-Level Interrupt Controller"), in
/// the spirit of ``VirtualPLIC``: a faithful view over the real domain.
///
/// The monitor performs almost every access on the real register: the real
/// root domain's `domaincfg`, `sourcecfg`, pending and enable bits,
/// `target`s, `genmsi` and IDCs are the only state. Delegation to the
/// supervisor-level domain (`sourcecfg.D`) is therefore real, and the
/// payload's S domain stays native; what the firmware reads is the hardware
/// at the moment it reads.
///
/// The exception is the MSI address configuration (`mmsiaddrcfg`,
/// `mmsiaddrcfgh`, `smsiaddrcfg`, `smsiaddrcfgh`), present in MSI delivery
/// mode. The APLIC writes its MSIs as a bus master that PMP does not check,
/// so whoever programs these registers chooses where the APLIC writes. The
/// firmware reads and writes a virtual copy held here
/// (``APLICRoute/virtual``); the monitor copies a pair to the real registers
/// only when every address it can produce stays clear of what the
/// firmware's own stores cannot reach (the monitor's memory, the devices it
/// walls), so the APLIC can never be aimed at the monitor. An MSI into the
/// machine-level IMSIC files is harmless: it only sets an identity pending,
/// which the monitor moves into the firmware's virtual file.
///
/// Which registers exist follows QEMU 7.2 (`hw/intc/riscv_aplic.c`) on the
/// `virt` board: the MSI address registers only in MSI delivery mode
/// (`aia=aplic-imsic`), the `smsiaddrcfg` pair because `virt` always gives
/// the root domain a supervisor-level child; IDCs (at 0x4000 + 32·hart)
/// only in direct delivery mode (`aia=aplic`), one per hart; every register
/// of the specification's map otherwise, `setipnum_be` and `genmsi`
/// included. Reserved offsets read 0 and ignore writes.
///
/// The virtual MSI address registers reset to 0 (QEMU 7.2; the
/// specification lets L reset to either value) and keep QEMU 7.2's
/// writable bits: all of `mmsiaddrcfg`/`smsiaddrcfg`, and
/// ``APLICMSIAddressConfiguration/highRegisterMask`` of the high registers;
/// a locked configuration still reads its fields (the specification allows
/// either). Lock:
///
/// - `mmsiaddrcfgh.L` locks `mmsiaddrcfg`/`mmsiaddrcfgh`, as QEMU 7.2
///   (the hart the monitor runs on, checked natively by the test firmware's
///   `aplic-msiaddr-lock`) does. Documented difference: the specification
///   also locks `smsiaddrcfg`/`smsiaddrcfgh` with it ("Setting
///   `mmsiaddrcfgh.L` to one also locks registers `smsiaddrcfg` and
///   `smsiaddrcfgh`"; QEMU aligned with it in 2023). The firmware must not
///   be able to tell the monitor from the hart it runs on, so the model
///   follows the hart; OpenSBI never sets L.
/// - `smsiaddrcfgh.L` locks `smsiaddrcfg`/`smsiaddrcfgh`. Documented
///   difference: the specification has no L in `smsiaddrcfgh` (bit 31 is
///   reserved, read as zero); QEMU 7.2 stores it and honours it
///   (`riscv_aplic_write`), and so does the model.
public struct VirtualAPLIC: Sendable {
    /// The largest number of interrupt sources.
    public static let maximumSources = 1023

    /// Offset of `domaincfg`.
    public static let domaincfgOffset: UInt64 = 0x0000
    /// Offset of `sourcecfg[1]`; `sourcecfg[i]` is at 4i.
    public static let sourcecfgOffset: UInt64 = 0x0004
    /// Offset of `mmsiaddrcfg`.
    public static let mmsiaddrcfgOffset: UInt64 = 0x1BC0
    /// Offset of `mmsiaddrcfgh`.
    public static let mmsiaddrcfghOffset: UInt64 = 0x1BC4
    /// Offset of `smsiaddrcfg`.
    public static let smsiaddrcfgOffset: UInt64 = 0x1BC8
    /// Offset of `smsiaddrcfgh`.
    public static let smsiaddrcfghOffset: UInt64 = 0x1BCC
    /// Offset of `setip[0]`.
    public static let setipOffset: UInt64 = 0x1C00
    /// Offset of `setipnum`.
    public static let setipnumOffset: UInt64 = 0x1CDC
    /// Offset of `in_clrip[0]`.
    public static let inClripOffset: UInt64 = 0x1D00
    /// Offset of `clripnum`.
    public static let clripnumOffset: UInt64 = 0x1DDC
    /// Offset of `setie[0]`.
    public static let setieOffset: UInt64 = 0x1E00
    /// Offset of `setienum`.
    public static let setienumOffset: UInt64 = 0x1EDC
    /// Offset of `clrie[0]`.
    public static let clrieOffset: UInt64 = 0x1F00
    /// Offset of `clrienum`.
    public static let clrienumOffset: UInt64 = 0x1FDC
    /// Offset of `setipnum_le`.
    public static let setipnumLEOffset: UInt64 = 0x2000
    /// Offset of `setipnum_be`.
    public static let setipnumBEOffset: UInt64 = 0x2004
    /// Offset of `genmsi`.
    public static let genmsiOffset: UInt64 = 0x3000
    /// Offset of `target[1]`; `target[i]` is at 0x3000 + 4i.
    public static let targetOffset: UInt64 = 0x3004
    /// Offset of the first IDC structure.
    public static let idcOffset: UInt64 = 0x4000
    /// Size of one IDC structure.
    public static let idcSize: UInt64 = 32
    /// Offset of `idelivery` in an IDC.
    public static let ideliveryOffset: UInt64 = 0x00
    /// Offset of `iforce` in an IDC.
    public static let iforceOffset: UInt64 = 0x04
    /// Offset of `ithreshold` in an IDC.
    public static let ithresholdOffset: UInt64 = 0x08
    /// Offset of `topi` in an IDC.
    public static let topiOffset: UInt64 = 0x18
    /// Offset of `claimi` in an IDC.
    public static let claimiOffset: UInt64 = 0x1C
    /// Size of the `sourcecfg` and `target` arrays: sources 1…1023.
    public static let sourceArraySize: UInt64 = 4 * UInt64(maximumSources)
    /// Size of the 32-bit word arrays (`setip`, `in_clrip`, `setie`, `clrie`):
    /// 32 words.
    public static let wordArraySize: UInt64 = 0x80
    /// Size of one domain's window on QEMU `virt`:
    /// `APLIC_SIZE(VIRT_CPUS_MAX)`, 16 KiB of registers and 512 IDCs.
    public static let size: UInt64 = 0x8000
    /// The most IDCs the window holds.
    public static let maximumHarts = Int((size - idcOffset) / idcSize)

    /// The number of interrupt sources (`riscv,num-sources`; QEMU `virt`:
    /// 96), clamped to `0...maximumSources`.
    public let sources: Int
    /// The number of IDCs in direct delivery mode (the domain's harts),
    /// clamped to `0...maximumHarts`; 0 in MSI delivery mode.
    public let harts: Int
    /// Whether the domain delivers by MSI (`domaincfg.DM` = 1).
    public let msiMode: Bool
    /// The words of the `setip`, `in_clrip`, `setie` and `clrie` arrays that
    /// exist: those holding source 0…``sources``.
    public let words: Int

    private var mmsiaddrcfg: UInt32 = 0
    private var mmsiaddrcfgh: UInt32 = 0
    private var smsiaddrcfg: UInt32 = 0
    private var smsiaddrcfgh: UInt32 = 0

    /// The root domain with `sources` sources, delivering by MSI
    /// (`msiMode`) or directly to `harts` harts, its virtual registers in
    /// their reset state.
    public init(sources: Int, harts: Int, msiMode: Bool) {
        self.sources = min(max(sources, 0), VirtualAPLIC.maximumSources)
        self.harts = msiMode ? 0 : min(max(harts, 0), VirtualAPLIC.maximumHarts)
        self.msiMode = msiMode
        self.words = (self.sources + 32) / 32
    }

    // MARK: Decoding and routing

    /// The register an aligned 32-bit access at `offset` from the domain's
    /// base names.
    public func decode(offset: UInt64) -> APLICRegister {
        guard offset & 3 == 0, offset < VirtualAPLIC.size else { return .reserved }
        switch offset {
        case VirtualAPLIC.domaincfgOffset:
            return .domaincfg
        case VirtualAPLIC.sourcecfgOffset..<VirtualAPLIC.sourcecfgOffset + VirtualAPLIC.sourceArraySize:
            return source(offset - VirtualAPLIC.sourcecfgOffset).map { .sourcecfg(source: $0) } ?? .reserved
        case VirtualAPLIC.mmsiaddrcfgOffset where msiMode:
            return .mmsiaddrcfg
        case VirtualAPLIC.mmsiaddrcfghOffset where msiMode:
            return .mmsiaddrcfgh
        case VirtualAPLIC.smsiaddrcfgOffset where msiMode:
            return .smsiaddrcfg
        case VirtualAPLIC.smsiaddrcfghOffset where msiMode:
            return .smsiaddrcfgh
        case VirtualAPLIC.setipnumOffset:
            return .setipnum
        case VirtualAPLIC.clripnumOffset:
            return .clripnum
        case VirtualAPLIC.setienumOffset:
            return .setienum
        case VirtualAPLIC.clrienumOffset:
            return .clrienum
        case VirtualAPLIC.setipOffset..<VirtualAPLIC.setipOffset + VirtualAPLIC.wordArraySize:
            return word(offset - VirtualAPLIC.setipOffset).map { .setip(word: $0) } ?? .reserved
        case VirtualAPLIC.inClripOffset..<VirtualAPLIC.inClripOffset + VirtualAPLIC.wordArraySize:
            return word(offset - VirtualAPLIC.inClripOffset).map { .inClrip(word: $0) } ?? .reserved
        case VirtualAPLIC.setieOffset..<VirtualAPLIC.setieOffset + VirtualAPLIC.wordArraySize:
            return word(offset - VirtualAPLIC.setieOffset).map { .setie(word: $0) } ?? .reserved
        case VirtualAPLIC.clrieOffset..<VirtualAPLIC.clrieOffset + VirtualAPLIC.wordArraySize:
            return word(offset - VirtualAPLIC.clrieOffset).map { .clrie(word: $0) } ?? .reserved
        case VirtualAPLIC.setipnumLEOffset:
            return .setipnumLE
        case VirtualAPLIC.setipnumBEOffset:
            return .setipnumBE
        case VirtualAPLIC.genmsiOffset:
            return .genmsi
        case VirtualAPLIC.targetOffset..<VirtualAPLIC.targetOffset + VirtualAPLIC.sourceArraySize:
            return source(offset - VirtualAPLIC.targetOffset).map { .target(source: $0) } ?? .reserved
        case VirtualAPLIC.idcOffset..<VirtualAPLIC.size:
            return idcRegister(offset - VirtualAPLIC.idcOffset)
        default:
            return .reserved
        }
    }

    /// Source `relative / 4 + 1` when it exists.
    private func source(_ relative: UInt64) -> Int? {
        let source = relative / 4 + 1
        return source <= UInt64(sources) ? Int(source) : nil
    }

    /// Word `relative / 4` of a word array when it exists.
    private func word(_ relative: UInt64) -> Int? {
        let word = relative / 4
        return word < UInt64(words) ? Int(word) : nil
    }

    private func idcRegister(_ relative: UInt64) -> APLICRegister {
        let hart = relative / VirtualAPLIC.idcSize
        guard hart < UInt64(harts) else { return .reserved }
        let index = Int(hart)
        switch relative % VirtualAPLIC.idcSize {
        case VirtualAPLIC.ideliveryOffset: return .idelivery(hart: index)
        case VirtualAPLIC.iforceOffset: return .iforce(hart: index)
        case VirtualAPLIC.ithresholdOffset: return .ithreshold(hart: index)
        case VirtualAPLIC.topiOffset: return .topi(hart: index)
        case VirtualAPLIC.claimiOffset: return .claimi(hart: index)
        default: return .reserved
        }
    }

    /// Whether this domain has `register` (a value ``decode(offset:)`` can
    /// return).
    public func implements(_ register: APLICRegister) -> Bool {
        switch register {
        case .reserved:
            return false
        case .sourcecfg(let source), .target(let source):
            return source >= 1 && source <= sources
        case .setip(let word), .inClrip(let word), .setie(let word), .clrie(let word):
            return word >= 0 && word < words
        case .mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh:
            return msiMode
        case .idelivery(let hart), .iforce(let hart), .ithreshold(let hart), .topi(let hart), .claimi(let hart):
            return hart >= 0 && hart < harts
        case .domaincfg, .setipnum, .clripnum, .setienum, .clrienum, .setipnumLE, .setipnumBE, .genmsi:
            return true
        }
    }

    /// How the monitor performs a firmware load (`isStore == false`) or store
    /// of `register`: the MSI address registers on the virtual copy,
    /// registers the domain does not have nowhere, everything else on the
    /// real register, loads and stores alike (the real domain ignores
    /// stores to its read-only registers, as it would natively).
    public func route(_ register: APLICRegister, isStore: Bool) -> APLICRoute {
        guard implements(register) else { return .none }
        switch register {
        case .mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh:
            return .virtual
        default:
            return .real
        }
    }

    // MARK: The virtual MSI address registers

    /// A firmware load of a virtual register; 0 for any register that is not
    /// one of the four MSI address registers of an MSI-mode domain.
    public mutating func readVirtual(_ register: APLICRegister) -> UInt32 {
        guard msiMode else { return 0 }
        switch register {
        case .mmsiaddrcfg: return mmsiaddrcfg
        case .mmsiaddrcfgh: return mmsiaddrcfgh
        case .smsiaddrcfg: return smsiaddrcfg
        case .smsiaddrcfgh: return smsiaddrcfgh
        default: return 0
        }
    }

    /// A firmware store of `value` to a virtual register, with the lock rules
    /// and writable bits of the type's documentation; ignored for any other
    /// register.
    public mutating func writeVirtual(_ register: APLICRegister, value: UInt32) {
        guard msiMode else { return }
        let lock = APLICMSIAddressConfiguration.lockBit
        let machineLocked = mmsiaddrcfgh & lock != 0
        let supervisorLocked = smsiaddrcfgh & lock != 0
        switch register {
        case .mmsiaddrcfg where !machineLocked:
            mmsiaddrcfg = value
        case .mmsiaddrcfgh where !machineLocked:
            mmsiaddrcfgh = value & APLICMSIAddressConfiguration.highRegisterMask
        case .smsiaddrcfg where !supervisorLocked:
            smsiaddrcfg = value
        case .smsiaddrcfgh where !supervisorLocked:
            smsiaddrcfgh = value & APLICMSIAddressConfiguration.highRegisterMask
        default:
            break
        }
    }

    /// The machine-level MSI address configuration the firmware has written.
    public var machineMSIAddress: APLICMSIAddressConfiguration {
        APLICMSIAddressConfiguration(low: mmsiaddrcfg, high: mmsiaddrcfgh)
    }

    /// The supervisor-level MSI address configuration the firmware has
    /// written, every field from `smsiaddrcfg`/`smsiaddrcfgh` (QEMU 7.2's
    /// rule, see ``APLICMSIAddressConfiguration``). Its `locked` is
    /// `smsiaddrcfgh`'s own bit 31 (QEMU 7.2: ``machineMSIAddress``'s lock
    /// leaves this pair writable).
    public var supervisorMSIAddress: APLICMSIAddressConfiguration {
        APLICMSIAddressConfiguration(low: smsiaddrcfg, high: smsiaddrcfgh)
    }
}
