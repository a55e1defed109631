/// A control and status register address (privileged specification, "CSR
/// Listing"). The 12-bit number also encodes the access rules: bits 11:10 are
/// 3 for read-only CSRs, bits 9:8 hold the lowest privilege that may access it.
public struct CSR: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue & 0xFFF }
    @inlinable public init(_ number: UInt16) { self.init(rawValue: number) }

    /// True when the number lies in a read-only range (bits 11:10 = 3).
    @inlinable public var isReadOnly: Bool { (rawValue >> 10) & 3 == 3 }

    /// The lowest privilege allowed to access this CSR (bits 9:8; 2 = hypervisor,
    /// which is accessible from HS-mode, that is `supervisor` without V).
    @inlinable public var minimumPrivilege: PrivilegeMode {
        switch (rawValue >> 8) & 3 {
        case 0: return .user
        case 1, 2: return .supervisor
        default: return .machine
        }
    }

    // Unprivileged counters.
    public static let cycle = CSR(0xC00)
    public static let time = CSR(0xC01)
    public static let instret = CSR(0xC02)
    public static let hpmcounter3 = CSR(0xC03)
    public static let hpmcounter31 = CSR(0xC1F)

    // Supervisor.
    public static let sstatus = CSR(0x100)
    public static let sie = CSR(0x104)
    public static let stvec = CSR(0x105)
    public static let scounteren = CSR(0x106)
    public static let senvcfg = CSR(0x10A)
    public static let sscratch = CSR(0x140)
    public static let sepc = CSR(0x141)
    public static let scause = CSR(0x142)
    public static let stval = CSR(0x143)
    public static let sip = CSR(0x144)
    public static let stimecmp = CSR(0x14D)
    public static let satp = CSR(0x180)

    // Machine information.
    public static let mvendorid = CSR(0xF11)
    public static let marchid = CSR(0xF12)
    public static let mimpid = CSR(0xF13)
    public static let mhartid = CSR(0xF14)
    public static let mconfigptr = CSR(0xF15)

    // Machine trap setup and handling.
    public static let mstatus = CSR(0x300)
    public static let misa = CSR(0x301)
    public static let medeleg = CSR(0x302)
    public static let mideleg = CSR(0x303)
    public static let mie = CSR(0x304)
    public static let mtvec = CSR(0x305)
    public static let mcounteren = CSR(0x306)
    public static let menvcfg = CSR(0x30A)
    public static let mcountinhibit = CSR(0x320)
    public static let mhpmevent3 = CSR(0x323)
    public static let mhpmevent31 = CSR(0x33F)
    public static let mscratch = CSR(0x340)
    public static let mepc = CSR(0x341)
    public static let mcause = CSR(0x342)
    public static let mtval = CSR(0x343)
    public static let mip = CSR(0x344)
    public static let mtinst = CSR(0x34A)
    public static let mtval2 = CSR(0x34B)
    public static let mseccfg = CSR(0x747)

    // Advanced Interrupt Architecture, machine level (Smaia; AIA specification, "Machine-level CSRs").
    public static let miselect = CSR(0x350)
    public static let mireg = CSR(0x351)
    public static let mtopei = CSR(0x35C)
    public static let mtopi = CSR(0xFB0)
    public static let mvien = CSR(0x308)
    public static let mvip = CSR(0x309)

    // Memory protection.
    public static let pmpcfg0 = CSR(0x3A0)
    public static let pmpcfg15 = CSR(0x3AF)
    public static let pmpaddr0 = CSR(0x3B0)
    public static let pmpaddr63 = CSR(0x3EF)

    // Machine counters.
    public static let mcycle = CSR(0xB00)
    public static let minstret = CSR(0xB02)
    public static let mhpmcounter3 = CSR(0xB03)
    public static let mhpmcounter31 = CSR(0xB1F)
}
