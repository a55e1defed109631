/// The devices of the Advanced Interrupt Architecture (RISC-V AIA 1.0) that
/// the monitor binds, as the device tree describes them (Linux's bindings
/// `riscv,imsics` and `riscv,aplic`, which QEMU `virt` follows).
///
/// On QEMU `virt,aia=aplic-imsic` each hart has an M-level and an S-level
/// IMSIC interrupt file (one 4 KiB page each, in two regions), and the
/// APLIC's M (root) domain delegates its sources to an S domain; both
/// domains deliver by MSI. On `virt,aia=aplic` there is no IMSIC and both
/// domains deliver directly, through per-hart interrupt delivery controls.
public struct AIADevices: Sendable, Equatable {
    /// The M-level interrupt files (`riscv,imsics` whose `interrupts-extended`
    /// names the machine external interrupt, 11): the page of the hart with
    /// index `i` is at `base + 0x1000 * i`. Size 0 without an IMSIC.
    public var imsicMachine = PlatformDescription.Region(base: 0, size: 0)
    /// The S-level interrupt files (`interrupts-extended` naming 9).
    public var imsicSupervisor = PlatformDescription.Region(base: 0, size: 0)
    /// `riscv,num-ids` of the M-level files: identities `1...imsicIdentities`.
    public var imsicIdentities = 0
    /// The APLIC domain of machine level (the root): the one whose
    /// interrupts go to the M-level files (`msi-parent`) or to MEI
    /// (`interrupts-extended`).
    public var aplicMachine = PlatformDescription.Region(base: 0, size: 0)
    /// `riscv,num-sources` of the M domain.
    public var aplicSources = 0
    /// The M domain delivers by MSI (it has an `msi-parent`), not directly.
    public var aplicDeliversMSIs = false
    /// The tree describes more than the monitor can wall and bind: several
    /// machine-level APLIC domains or IMSIC regions (a multi-socket layout
    /// with one per socket), an IMSIC node with several `reg` regions, or
    /// more AIA nodes than the parser keeps. A domain or file region left
    /// out would be reachable by the guests (an APLIC could then be pointed
    /// at the monitor's memory), so the monitor refuses such a machine.
    public var unsupportedLayout = false

    public init() {}

    /// True when the harts have IMSIC interrupt files (Smaia and Ssaia).
    @inlinable public var hasIMSIC: Bool { imsicMachine.size > 0 }

    /// The page of hart `hart`'s M-level interrupt file.
    @inlinable public func machineFile(hart: Int) -> UInt64 { imsicMachine.base + 0x1000 * UInt64(hart) }

    /// The machine external interrupt's and the supervisor external
    /// interrupt's codes, as `interrupts-extended` names them.
    static let machineExternal: UInt32 = 11
    static let supervisorExternal: UInt32 = 9
}

/// What one `riscv,imsics` or `riscv,aplic` node says.
struct AIANodeFacts {
    var isIMSIC = false
    var region = PlatformDescription.Region(base: 0, size: 0)
    var phandle: UInt32 = 0
    var msiParent: UInt32 = 0
    /// The interrupt of the first `interrupts-extended` pair (0 when absent).
    var interrupt: UInt32 = 0
    /// `riscv,num-ids` or `riscv,num-sources`.
    var count = 0
    /// `reg` holds more than one region.
    var severalRegions = false
}

/// The AIA nodes of a tree, collected in one pass: an APLIC's `msi-parent`
/// may name an IMSIC node that comes later in the blob.
struct AIANodes {
    var nodes: (AIANodeFacts, AIANodeFacts, AIANodeFacts, AIANodeFacts) = (.init(), .init(), .init(), .init())
    var count = 0
    /// More nodes than ``nodes`` holds were found.
    var overflowed = false

    mutating func add(_ facts: AIANodeFacts) {
        switch count {
        case 0: nodes.0 = facts
        case 1: nodes.1 = facts
        case 2: nodes.2 = facts
        case 3: nodes.3 = facts
        default:
            overflowed = true
            return
        }
        count += 1
    }

    func node(_ i: Int) -> AIANodeFacts {
        switch i {
        case 0: return nodes.0
        case 1: return nodes.1
        case 2: return nodes.2
        default: return nodes.3
        }
    }

    func resolve() -> AIADevices {
        var devices = AIADevices()
        devices.unsupportedLayout = overflowed
        var machineIMSIC: UInt32 = 0
        var machineIMSICs = 0
        var machineDomains = 0
        for i in 0..<count {
            let n = node(i)
            guard n.isIMSIC else { continue }
            if n.interrupt == AIADevices.machineExternal {
                machineIMSICs += 1
                if n.severalRegions { devices.unsupportedLayout = true }
                devices.imsicMachine = n.region
                devices.imsicIdentities = n.count
                machineIMSIC = n.phandle
            } else if n.interrupt == AIADevices.supervisorExternal {
                devices.imsicSupervisor = n.region
            }
        }
        for i in 0..<count {
            let n = node(i)
            guard !n.isIMSIC else { continue }
            let byMSI = n.msiParent != 0 && n.msiParent == machineIMSIC
            guard byMSI || n.interrupt == AIADevices.machineExternal else { continue }
            machineDomains += 1
            devices.aplicMachine = n.region
            devices.aplicSources = n.count
            devices.aplicDeliversMSIs = byMSI
        }
        if machineIMSICs > 1 || machineDomains > 1 { devices.unsupportedLayout = true }
        return devices
    }
}
