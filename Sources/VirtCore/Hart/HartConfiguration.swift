/// What the real hart underneath supports, as the platform measured it at boot.
///
/// The virtual hart presents the same machine to the firmware, minus what the
/// monitor keeps for itself (some PMP entries, the hardware performance
/// counters) — the exact list is in ``VirtualHart``'s documentation.
public struct HartConfiguration: Sendable, Equatable {
    /// `mhartid` of this hart.
    public var hartID: UInt64
    /// `misa` of the real hart (read-only for the firmware).
    public var misa: UInt64
    /// Identity CSRs, read-only (privileged specification, "Machine Vendor ID Register" ff.).
    public var mvendorid: UInt64 = 0
    public var marchid: UInt64 = 0
    public var mimpid: UInt64 = 0
    public var mconfigptr: UInt64 = 0
    /// `menvcfg` and `senvcfg` exist on the real hart (privileged
    /// specification 1.12 onwards); a monitor must not touch them otherwise.
    public var hasEnvironmentConfiguration: Bool = true
    /// `mstatus.VS` is writable although `misa.V` is clear: "if S-mode is
    /// implemented but the V extension is not, VS may optionally be
    /// read-only zero" (privileged specification, "Extension Context Status
    /// in mstatus Register"); QEMU 7.2 keeps it writable. A monitor probes the
    /// real hart so the firmware sees the same choice.
    public var mstatusVSWritable: Bool = false
    /// Sstc: `stimecmp` exists and `menvcfg.STCE` can be set.
    public var hasSstc: Bool = false
    /// Sscofpmf: LCOFI exists in `mip`/`mie`/`mideleg`.
    public var hasSscofpmf: Bool = false
    /// Svpbmt: `menvcfg.PBMTE` is writable.
    public var hasSvpbmt: Bool = false
    /// Zicbom: `CBIE`/`CBCFE` in `menvcfg`/`senvcfg` are writable.
    public var hasZicbom: Bool = false
    /// Zicboz: `CBZE` in `menvcfg`/`senvcfg` is writable.
    public var hasZicboz: Bool = false
    /// Number of PMP entries offered to the firmware: 0, 16 or 64 in the
    /// specification's terms; the monitor may offer any count up to 64 and
    /// makes the rest read-only zero.
    public var pmpEntries: Int = 0
    /// The `satp.MODE` values besides Bare that the hart implements (bit n set = mode n).
    public var satpModes: UInt16 = (1 << 8) | (1 << 9) | (1 << 10)
    /// Number of implemented ASID bits in `satp`.
    public var asidBits: Int = 16
    /// The debug trigger module (Sdtrig) the firmware gets; none by default,
    /// so the trigger CSRs are illegal instructions.
    public var triggers = TriggerConfiguration.none
    /// The Advanced Interrupt Architecture's machine-level CSRs (Smaia) and
    /// the M-level IMSIC file; not implemented by default, so `miselect`,
    /// `mireg`, `mtopei`, `mtopi`, `mvien` and `mvip` are illegal
    /// instructions.
    public var smaia = SmaiaConfiguration()

    public init(hartID: UInt64, misa: UInt64) {
        self.hartID = hartID
        self.misa = misa
    }

    /// Tests an extension letter of `misa` ("Machine ISA Register").
    @inlinable
    public func hasExtension(_ letter: Unicode.Scalar) -> Bool {
        let index = UInt64(letter.value) &- UInt64(Unicode.Scalar("A").value)
        return index < 26 && (misa >> index) & 1 == 1
    }

    /// The S extension is present.
    @inlinable public var hasSupervisor: Bool { hasExtension("S") }
    /// The H extension is present.
    @inlinable public var hasHypervisor: Bool { hasExtension("H") }
    /// The C extension is present: `xepc` keeps bit 1.
    @inlinable public var hasCompressed: Bool { hasExtension("C") }
    /// F or D is present: `mstatus.FS` is writable.
    @inlinable public var hasFloatingPoint: Bool { hasExtension("F") || hasExtension("D") }
    /// V is present: `mstatus.VS` is writable.
    @inlinable public var hasVector: Bool { hasExtension("V") }

    /// QEMU 7.2's default `rv64` hart: RV64IMAFDCSUH with Sstc, Zicbom and
    /// Zicboz, 16 PMP entries. Useful for tests and as documentation.
    public static func qemuRV64(hartID: UInt64 = 0) -> HartConfiguration {
        var c = HartConfiguration(hartID: hartID, misa: (2 << 62) | extensionBits("IMAFDCSUH"))
        c.hasSstc = true
        c.hasZicbom = true
        c.hasZicboz = true
        c.hasSvpbmt = true
        c.mstatusVSWritable = true
        c.pmpEntries = 16
        return c
    }

    /// The `misa` bits of a list of extension letters.
    public static func extensionBits(_ letters: StaticString) -> UInt64 {
        var bits: UInt64 = 0
        letters.withUTF8Buffer { buffer in
            for byte in buffer where byte >= 65 && byte <= 90 {
                bits |= 1 << UInt64(byte - 65)
            }
        }
        return bits
    }
}
