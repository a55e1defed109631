import PropertyBased
import Testing
import VirtCore

/// Harts with Smaia, configured as the monitor probes QEMU 7.2's `rv64` on
/// `virt,aia=aplic-imsic` (`probeSmaia`): `miselect` holds 9 bits, the
/// `iprio` bytes reset to each interrupt's default rank (`default_iprio`,
/// 255 where the table has none; MEI 0), every byte writable but MEI's.
enum SmaiaHarts {
    /// `aia=aplic-imsic`: an M-level IMSIC file of 255 identities.
    static let aplicIMSIC = withSmaia(identities: 255)
    /// Smaia without an IMSIC (not a QEMU 7.2 machine: `aia=aplic` has no
    /// Smaia there; the case the specification allows).
    static let withoutIMSIC = withSmaia(identities: 0)

    static func withSmaia(identities: Int) -> HartConfiguration {
        var c = HartConfiguration.qemuRV64()
        c.smaia.isImplemented = true
        c.smaia.imsicIdentities = identities
        c.smaia.miselectWritable = 0x1FF
        let reset = ReferenceSmaia.resetIprio()
        for register in 0..<8 {
            var word: UInt64 = 0
            for byte in 0..<8 { word |= UInt64(reset[8 * register + byte]) << UInt64(8 * byte) }
            c.smaia.iprioReset[register] = word
            // MEI (11) is byte 3 of iprio2, the second register.
            c.smaia.iprioWritable[register] = register == 1 ? ~(0xFF << 24) : ~0
        }
        return c
    }
}

/// The AIA CSR numbers (AIA specification, "Machine-level CSRs",
/// "Supervisor-level CSRs", "Hypervisor and VS CSRs").
enum AIACSR {
    static let miselect: UInt16 = 0x350, mireg: UInt16 = 0x351, mtopei: UInt16 = 0x35C, mtopi: UInt16 = 0xFB0
    static let mvien: UInt16 = 0x308, mvip: UInt16 = 0x309
    static let machine: [UInt16] = [miselect, mireg, mtopei, mtopi, mvien, mvip]
    static let siselect: UInt16 = 0x150, sireg: UInt16 = 0x151, stopei: UInt16 = 0x15C, stopi: UInt16 = 0xDB0
    static let vsiselect: UInt16 = 0x250, vstopi: UInt16 = 0xEB0, hvien: UInt16 = 0x608, hviprio1: UInt16 = 0x646

    /// `miselect` of `iprio`k (k even on RV64).
    static func iprio(_ k: UInt64) -> UInt64 { 0x30 + k }
    static let eidelivery: UInt64 = 0x70, eithreshold: UInt64 = 0x72
    static func eip(_ k: UInt64) -> UInt64 { 0x80 + k }
    static func eie(_ k: UInt64) -> UInt64 { 0xC0 + k }
}

extension HartFixture {
    /// `csrw miselect` then `csrr mireg`; nil when the `mireg` access traps.
    mutating func indirect(_ select: UInt64) -> UInt64? {
        write(AIACSR.miselect, select)
        return read(AIACSR.mireg)
    }

    /// `csrw miselect` then `csrrw mireg`; the old value, nil on a trap.
    @discardableResult
    mutating func setIndirect(_ select: UInt64, _ value: UInt64) -> UInt64? {
        write(AIACSR.miselect, select)
        return write(AIACSR.mireg, value)
    }

    /// An identity arrives in the firmware's virtual file, as the monitor
    /// moves it there from the real file (`drainMachineFile`).
    mutating func arrive(_ identity: UInt64) {
        hart.aia.imsic.setPending(identity: identity)
        hart.refreshIMSICLine()
    }

    /// `mip.MEIP` as the firmware reads it.
    mutating func meip() -> Bool { (read(N.mip) ?? 0) & B.mei != 0 }

    /// The virtual file set up as a firmware does: delivery on, no
    /// threshold, identities `enabled` enabled.
    mutating func enableFile(_ enabled: [UInt64]) {
        var words = [UInt64](repeating: 0, count: 4)
        for identity in enabled { words[Int(identity / 64)] |= 1 << (identity % 64) }
        for (w, bits) in words.enumerated() { setIndirect(AIACSR.eie(2 * UInt64(w)), bits) }
        setIndirect(AIACSR.eithreshold, 0)
        setIndirect(AIACSR.eidelivery, 1)
    }

    /// `iprio` byte of interrupt `n` set through `mireg`.
    mutating func setPriority(_ n: Int, _ priority: UInt8) {
        let select = AIACSR.iprio(UInt64(n / 8) * 2)
        let old = indirect(select) ?? 0
        let shift = UInt64(n % 8) * 8
        setIndirect(select, old & ~(0xFF << shift) | UInt64(priority) << shift)
    }
}

/// The machine-level AIA CSRs of Smaia in virtual M-mode: `miselect`,
/// `mireg` over the `iprio` array and the M-level IMSIC file, `mtopei`,
/// `mtopi`, `mvien`, `mvip`, and the order in which M-level interrupts are
/// taken (AIA specification, "Machine-level CSRs", "Interrupts for Machine
/// and Supervisor Levels", "Incoming MSI Controller"), against QEMU 7.2 on
/// `virt,aia=aplic-imsic`.
@Suite("Smaia machine-level CSRs")
struct SmaiaCSRTests {
    static let interruptFlag: UInt64 = 1 << 63

    // MARK: miselect

    @Test func miselectResetsToZeroAndHoldsNineBits() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        #expect(f.read(AIACSR.miselect) == 0)
        #expect(f.write(AIACSR.miselect, ~0) == 0)
        #expect(f.read(AIACSR.miselect) == 0x1FF, "WARL: QEMU 7.2 keeps ISELECT_MASK")
        f.write(AIACSR.miselect, 0x1234)
        #expect(f.read(AIACSR.miselect) == 0x034)
        f.set(AIACSR.miselect, 0x340)
        #expect(f.read(AIACSR.miselect) == 0x174)
        f.clear(AIACSR.miselect, 0x170)
        #expect(f.read(AIACSR.miselect) == 0x004)
    }

    // MARK: mireg over iprio

    @Test func iprioRegistersResetToTheDefaultRanks() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        let reset = ReferenceSmaia.resetIprio()
        for k in stride(from: UInt64(0), through: 14, by: 2) {
            var want: UInt64 = 0
            for byte in 0..<8 { want |= UInt64(reset[Int(k) * 4 + byte]) << UInt64(8 * byte) }
            #expect(f.indirect(AIACSR.iprio(k)) == want, "iprio\(k)")
        }
        // Interrupts 0-7: none, SSI 20, VSSI 24, MSI 17, none, STI 21, VSTI 25, MTI 18.
        #expect(f.indirect(AIACSR.iprio(0)) == 0x12_19_15_FF_11_18_14_FF)
        // 8-15: none, SEI 19, VSEI 23, MEI 0, SGEI 22, none, none, none.
        #expect(f.indirect(AIACSR.iprio(2)) == 0xFF_FF_FF_16_00_17_13_FF)
    }

    @Test func iprioBytesAreWritableExceptMEIs() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.setIndirect(AIACSR.iprio(2), ~0)
        #expect(f.indirect(AIACSR.iprio(2)) == 0xFFFF_FFFF_00FF_FFFF, "MEI's priority number is read-only zero")
        f.setIndirect(AIACSR.iprio(0), 0x0123_4567_89AB_CDEF)
        #expect(f.indirect(AIACSR.iprio(0)) == 0x0123_4567_89AB_CDEF)
        f.setIndirect(AIACSR.iprio(14), 0)
        #expect(f.indirect(AIACSR.iprio(14)) == 0)
        // csrrs/csrrc through mireg merge into the selected register.
        f.write(AIACSR.miselect, AIACSR.iprio(0))
        #expect(f.set(AIACSR.mireg, 0xF0) == 0x0123_4567_89AB_CDEF)
        #expect(f.clear(AIACSR.mireg, 0x0100_0000_0000_0000) == 0x0123_4567_89AB_CDFF)
        #expect(f.read(AIACSR.mireg) == 0x0023_4567_89AB_CDFF)
    }

    @Test func oddIprioNumbersAreIllegalOnRV64() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        for k in stride(from: UInt64(1), through: 15, by: 2) {
            #expect(f.indirect(AIACSR.iprio(k)) == nil, "iprio\(k)")
            f.write(AIACSR.miselect, AIACSR.iprio(k))
            f.expectIllegal(Encode.csrrw(rd: 5, csr: AIACSR.mireg, rs1: 6))
            f.expectIllegal(Encode.csrrs(rd: 0, csr: AIACSR.mireg, rs1: 0))
        }
        #expect(f.indirect(AIACSR.iprio(0)) != nil)
    }

    // MARK: mireg over the IMSIC file

    @Test func eideliveryHoldsBitZeroAndEithresholdElevenBits() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        #expect(f.indirect(AIACSR.eidelivery) == 0 && f.indirect(AIACSR.eithreshold) == 0, "reset")
        f.setIndirect(AIACSR.eidelivery, ~0)
        #expect(f.indirect(AIACSR.eidelivery) == 1, "0x40000000 (delivery from an APLIC) is not supported")
        f.setIndirect(AIACSR.eithreshold, ~0)
        #expect(f.indirect(AIACSR.eithreshold) == 0x7FF)
        f.setIndirect(AIACSR.eithreshold, 300)
        #expect(f.indirect(AIACSR.eithreshold) == 300, "above the identities: held, and means no threshold")
    }

    @Test func eipAndEieHoldTheImplementedIdentities() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        for k in stride(from: UInt64(0), through: 6, by: 2) {
            f.setIndirect(AIACSR.eip(k), ~0)
            f.setIndirect(AIACSR.eie(k), ~0)
            let want: UInt64 = k == 0 ? ~1 : ~0
            #expect(f.indirect(AIACSR.eip(k)) == want && f.indirect(AIACSR.eie(k)) == want,
                    "eip\(k)/eie\(k): identity 0 does not exist")
        }
        f.setIndirect(AIACSR.eip(2), 0)
        #expect(f.indirect(AIACSR.eip(2)) == 0 && f.indirect(AIACSR.eie(2)) == ~0)
    }

    @Test func reservedIMSICNumbersAreIllegal() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        for select: UInt64 in [0x71] + Array(0x73...0x7F) {
            #expect(f.indirect(select) == nil, "miselect \(hex(select))")
            #expect(f.setIndirect(select, 0) == nil)
        }
    }

    @Test func oddEipAndEieNumbersAreIllegalOnRV64() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        for k in stride(from: UInt64(1), through: 63, by: 2) {
            #expect(f.indirect(AIACSR.eip(k)) == nil && f.indirect(AIACSR.eie(k)) == nil, "k = \(k)")
        }
    }

    @Test func eipAndEieBeyondTheIdentitiesAreIllegal() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        // 255 identities: eip0, eip2, eip4, eip6 (identities 0-255).
        for k in stride(from: UInt64(8), through: 62, by: 2) {
            #expect(f.indirect(AIACSR.eip(k)) == nil && f.indirect(AIACSR.eie(k)) == nil, "k = \(k)")
            #expect(f.setIndirect(AIACSR.eie(k), ~0) == nil)
        }
    }

    @Test func miregOutsideBothRangesIsIllegal() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        let outside: [UInt64] = Array(0x00...0x2F) + Array(0x40...0x6F) + [0x100, 0x130, 0x170, 0x1FF]
        for select in outside {
            #expect(f.indirect(select) == nil, "miselect \(hex(select))")
            #expect(f.setIndirect(select, ~0) == nil)
        }
    }

    // MARK: mtopei

    @Test func mtopeiReportsTheLowestPendingEnabledIdentityBelowTheThreshold() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        #expect(f.read(AIACSR.mtopei) == 0)
        f.enableFile([9, 70, 200])
        for identity: UInt64 in [5, 70, 200, 9] { f.arrive(identity) }
        #expect(f.read(AIACSR.mtopei) == 9 << 16 | 9, "5 is pending but not enabled")
        f.setIndirect(AIACSR.eithreshold, 9)
        #expect(f.read(AIACSR.mtopei) == 0, "only identities below the threshold")
        f.setIndirect(AIACSR.eithreshold, 10)
        #expect(f.read(AIACSR.mtopei) == 9 << 16 | 9)
        f.setIndirect(AIACSR.eithreshold, 0)
        f.setIndirect(AIACSR.eie(0), 0)
        #expect(f.read(AIACSR.mtopei) == 70 << 16 | 70)
        f.setIndirect(AIACSR.eidelivery, 0)
        #expect(f.read(AIACSR.mtopei) == 70 << 16 | 70, "eidelivery does not gate mtopei")
    }

    @Test func csrrwOfMtopeiClaimsTheTopIdentity() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.enableFile([3, 4, 130])
        for identity: UInt64 in [130, 4, 3] { f.arrive(identity) }
        #expect(f.write(AIACSR.mtopei, 0xDEAD) == 3 << 16 | 3, "the value written is ignored")
        #expect(f.indirect(AIACSR.eip(0)) == 1 << 4)
        #expect(f.csr(.csrrwi, AIACSR.mtopei, source: 0) == 4 << 16 | 4, "csrrwi always writes")
        #expect(f.csr(.csrrw, AIACSR.mtopei, source: 0) == 130 << 16 | 130, "csrrw x0 writes too")
        #expect(f.write(AIACSR.mtopei, 0) == 0, "nothing left: a claim changes nothing")
        #expect(f.indirect(AIACSR.eip(0)) == 0 && f.indirect(AIACSR.eip(4)) == 0)
    }

    /// QEMU 7.2 claims only with a nonzero write mask
    /// (`riscv_imsic_topei_rmw`); the specification would count any `rs1`
    /// other than `x0` as a write.
    @Test func csrrsAndCsrrcOfMtopeiWithAZeroValueDoNotClaim() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.enableFile([7])
        f.arrive(7)
        let top: UInt64 = 7 << 16 | 7
        #expect(f.read(AIACSR.mtopei) == top, "csrrs rs1 = x0")
        #expect(f.csr(.csrrc, AIACSR.mtopei, source: 0) == top, "csrrc rs1 = x0")
        #expect(f.set(AIACSR.mtopei, 0) == top, "csrrs with a register holding 0")
        #expect(f.clear(AIACSR.mtopei, 0) == top, "csrrc with a register holding 0")
        #expect(f.csr(.csrrsi, AIACSR.mtopei, source: 0) == top)
        #expect(f.csr(.csrrci, AIACSR.mtopei, source: 0) == top)
        #expect(f.read(AIACSR.mtopei) == top && f.meip() == true, "still pending")
    }

    @Test func csrrsAndCsrrcOfMtopeiWithANonzeroValueClaim() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.enableFile([1, 2, 3, 4])
        for identity: UInt64 in 1...4 { f.arrive(identity) }
        #expect(f.set(AIACSR.mtopei, 1 << 40) == 1 << 16 | 1)
        #expect(f.clear(AIACSR.mtopei, 1) == 2 << 16 | 2)
        #expect(f.csr(.csrrsi, AIACSR.mtopei, source: 1) == 3 << 16 | 3)
        #expect(f.csr(.csrrci, AIACSR.mtopei, source: 31) == 4 << 16 | 4)
        #expect(f.read(AIACSR.mtopei) == 0)
    }

    // MARK: mip.MEIP is the file's line

    @Test func meipFollowsTheVirtualFile() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.arrive(33)
        #expect(f.meip() == false, "reset: eidelivery 0, nothing enabled")
        f.setIndirect(AIACSR.eie(0), 1 << 33)
        #expect(f.meip() == false, "delivery still off")
        f.setIndirect(AIACSR.eidelivery, 1)
        #expect(f.meip() == true)
        f.setIndirect(AIACSR.eie(0), 0)
        #expect(f.meip() == false, "disabled")
        f.setIndirect(AIACSR.eie(0), 1 << 33)
        #expect(f.meip() == true)
        f.setIndirect(AIACSR.eithreshold, 33)
        #expect(f.meip() == false, "33 is not below the threshold")
        f.setIndirect(AIACSR.eithreshold, 34)
        #expect(f.meip() == true)
        f.setIndirect(AIACSR.eidelivery, 0)
        #expect(f.meip() == false)
        f.setIndirect(AIACSR.eidelivery, 1)
        f.set(AIACSR.mtopei, 0)
        #expect(f.meip() == true, "a read does not lower the line")
        f.write(AIACSR.mtopei, 0)
        #expect(f.meip() == false, "the claim lowers it")
        // The firmware can make an identity pending itself, through eip.
        f.setIndirect(AIACSR.eip(0), 1 << 33)
        #expect(f.meip() == true)
        f.setIndirect(AIACSR.eip(0), 0)
        #expect(f.meip() == false)
    }

    @Test func meipStaysWhileAnotherIdentityIsPending() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.enableFile([2, 250])
        f.arrive(250)
        f.arrive(2)
        #expect(f.write(AIACSR.mtopei, 0) == 2 << 16 | 2)
        #expect(f.meip() == true)
        #expect(f.write(AIACSR.mtopei, 0) == 250 << 16 | 250)
        #expect(f.meip() == false)
        f.arrive(256)
        f.arrive(0)
        #expect(f.meip() == false && f.read(AIACSR.mtopei) == 0, "identities 0 and 256 do not exist")
    }

    // MARK: mtopi

    @Test func mtopiIsZeroWithNothingPendingAndEnabled() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        #expect(f.read(AIACSR.mtopi) == 0)
        f.hart.mipDevices = [.msip, .mtip]
        #expect(f.read(AIACSR.mtopi) == 0, "pending but not enabled")
        f.write(N.mie, B.mei)
        #expect(f.read(AIACSR.mtopi) == 0, "enabled but not pending")
    }

    @Test func mtopiReportsTheTopInterruptAndItsPriorityNumber() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.msi | B.mti | B.mei)
        f.hart.mipDevices = [.mtip]
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 18, "MTI with its reset number 18")
        f.hart.mipDevices = [.msip, .mtip]
        #expect(f.read(AIACSR.mtopi) == 3 << 16 | 17)
        f.enableFile([5])
        f.arrive(5)
        #expect(f.read(AIACSR.mtopi) == 11 << 16 | 0, "MEI: its read-only zero number (QEMU 7.2)")
        f.setPriority(7, 3)
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 3, "MTI moved above MEI's 16")
    }

    @Test func mtopiGives255ForAZeroNumberBelowMEI() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.msi)
        f.hart.mipDevices = [.msip]
        f.setPriority(3, 0)
        #expect(f.read(AIACSR.mtopi) == 3 << 16 | 255)
        f.setPriority(3, 200)
        #expect(f.read(AIACSR.mtopi) == 3 << 16 | 200)
    }

    @Test func mtopiDoesNotDependOnMstatusMIE() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        f.clear(N.mstatus, B.mie)
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 18)
        f.set(N.mstatus, B.mie)
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 18)
    }

    @Test func mtopiIgnoresDelegatedAndVSInterrupts() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, ~0)
        f.write(N.mip, B.ssi | B.sti | B.sei)
        f.env.passthrough[N.hvip] = B.vssi | B.vsti | B.vsei
        f.env.supervisorExternalLine = true
        #expect(f.read(N.mip) != 0 && f.read(AIACSR.mtopi) == 0, "S-level ones go to S, VS ones are excluded")
        f.hart.mipDevices = [.mtip]
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 18)
    }

    @Test func mtopiIsReadOnly() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.expectIllegal(Encode.csrrw(rd: 5, csr: AIACSR.mtopi, rs1: 0))
        f.expectIllegal(Encode.csrrs(rd: 5, csr: AIACSR.mtopi, rs1: 6))
        f.expectIllegal(Encode.csrrwi(rd: 5, csr: AIACSR.mtopi, uimm: 0))
        #expect(f.read(AIACSR.mtopi) == 0)
        #expect(f.csr(.csrrci, AIACSR.mtopi, source: 0) == 0)
    }

    // MARK: mvien, mvip

    @Test func mvienAndMvipAreReadOnlyZeroAndIgnoreWrites() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        for n in [AIACSR.mvien, AIACSR.mvip] {
            #expect(f.write(n, ~0) == 0)
            #expect(f.set(n, 1 << 9) == 0)
            #expect(f.read(n) == 0)
        }
        #expect(f.read(N.mip) == 0, "mvip does not reach mip.SEIP")
    }

    // MARK: The order interrupts are taken in

    @Test func resetPrioritiesKeepMEIBeforeMSIBeforeMTI() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.msi | B.mti | B.mei)
        f.set(N.mstatus, B.mie)
        f.enableFile([1])
        f.arrive(1)
        f.hart.mipDevices.formUnion([.msip, .mtip])
        #expect(f.hart.pendingMachineInterrupt == .machineExternal)
        f.write(AIACSR.mtopei, 0)
        #expect(f.hart.pendingMachineInterrupt == .machineSoftware)
        f.hart.mipDevices.remove(.msip)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
    }

    @Test func aSmallerNumberForMTIIsTakenBeforeMSI() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mtvec, 0x8000_0000)
        f.write(N.mie, B.msi | B.mti)
        f.set(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip, .mtip]
        f.setPriority(7, 10)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
        #expect(f.hart.injectPendingInterrupt(pc: 0x8000_4000) == 0x8000_0000)
        #expect(f.hart.mcause == Self.interruptFlag | 7 && f.hart.mepc == 0x8000_4000)
    }

    @Test func aNumberBelowSixteenPutsMTIBeforeMEI() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.mti | B.mei)
        f.enableFile([40])
        f.arrive(40)
        f.hart.mipDevices.insert(.mtip)
        f.mode = .supervisor
        f.hart.mode = .supervisor
        #expect(f.hart.pendingMachineInterrupt == .machineExternal, "below M, whatever MIE")
        f.machineWrite(AIACSR.miselect, AIACSR.iprio(0))
        f.machineWrite(AIACSR.mireg, 15 << 56)
        f.hart.mode = .supervisor
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
        f.machineWrite(AIACSR.mireg, 16 << 56)
        f.hart.mode = .supervisor
        #expect(f.hart.pendingMachineInterrupt == .machineExternal, "a tie with MEI's 16 goes to the higher number, 11")
    }

    /// QEMU 7.2 (`riscv_cpu_pending_to_irq`) breaks ties towards the higher
    /// interrupt number; the specification would use the default order.
    @Test func equalNumbersGoToTheHigherInterruptNumber() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.msi | B.mti)
        f.set(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip, .mtip]
        f.setPriority(3, 10)
        f.setPriority(7, 10)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 10)
        // Both zero: both rank 255, MTI again.
        f.setPriority(3, 0)
        f.setPriority(7, 0)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 255)
    }

    @Test func aZeroNumberPutsMSIBelowNumberedInterrupts() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.msi | B.mti)
        f.set(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip, .mtip]
        #expect(f.hart.pendingMachineInterrupt == .machineSoftware)
        f.setPriority(3, 0)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
    }

    @Test func noInterruptIsTakenInMachineModeWithMIEClear() {
        var f = HartFixture(SmaiaHarts.aplicIMSIC)
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        #expect(f.hart.pendingMachineInterrupt == nil)
        #expect(f.hart.injectPendingInterrupt(pc: 0x1234) == 0x1234)
    }

    // MARK: Harts without Smaia, or without an IMSIC

    @Test func withoutSmaiaTheMachineAIACSRsAreIllegal() {
        var f = HartFixture(TestHarts.qemu)
        for n in AIACSR.machine {
            #expect(f.read(n) == nil, "csrr \(hex(n))")
            if n != AIACSR.mtopi { #expect(f.write(n, 0) == nil, "csrw \(hex(n))") }
        }
        var g = HartFixture(TestHarts.small)
        for n in AIACSR.machine { #expect(g.read(n) == nil, "csrr \(hex(n))") }
    }

    @Test func withoutSmaiaIprioDoesNotChangeTheOrder() {
        var f = HartFixture(TestHarts.qemu)
        f.hart.aia.iprio[0] = 1 << 56  // MTI 1: ignored without Smaia
        f.write(N.mie, B.msi | B.mti | B.mei)
        f.set(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip, .mtip]
        #expect(f.hart.pendingMachineInterrupt == .machineSoftware)
    }

    @Test func withoutAnIMSICMtopeiAndTheFileRangeAreIllegal() {
        var f = HartFixture(SmaiaHarts.withoutIMSIC)
        #expect(f.read(AIACSR.mtopei) == nil)
        #expect(f.write(AIACSR.mtopei, 0) == nil)
        for select: UInt64 in [0x70, 0x72, 0x80, 0xC0, 0xFF] {
            #expect(f.indirect(select) == nil, "miselect \(hex(select))")
        }
        // The rest of Smaia stays.
        #expect(f.indirect(AIACSR.iprio(0)) == 0x12_19_15_FF_11_18_14_FF)
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        #expect(f.read(AIACSR.mtopi) == 7 << 16 | 18)
        #expect(f.read(AIACSR.mvien) == 0)
    }

    @Test func machineAIACSRsAreIllegalBelowMachineMode() {
        for mode in [PrivilegeMode.supervisor, .user] {
            var f = HartFixture(SmaiaHarts.aplicIMSIC, mode: mode)
            for n in AIACSR.machine {
                #expect(f.read(n) == nil, "csrr \(hex(n)) in \(mode)")
            }
        }
    }

    /// The S-level, VS-level and hypervisor AIA CSRs hold the payload's
    /// state: the firmware reaches the real ones through a guarded access,
    /// only on a hart with Smaia (VS and H ones only with H), and a real
    /// trap is the firmware's illegal instruction.
    @Test func payloadAIACSRsGoToTheRealHartOnlyWithSmaia() {
        var real = RealAIAHart()
        real.registers = [AIACSR.siselect: 0x70, AIACSR.stopi: 9 << 16 | 1, AIACSR.vsiselect: 0x30,
                          AIACSR.hviprio1: 0x55]
        var hart = VirtualHart(configuration: SmaiaHarts.aplicIMSIC)
        func access(_ n: UInt16, _ operation: CSROperation, _ value: UInt64, writes: Bool) -> UInt64? {
            hart.accessCSR(CSR(n), operation: operation, operand: value, writes: writes, environment: &real)
        }
        #expect(access(AIACSR.siselect, .readWrite, 0x72, writes: true) == 0x70)
        #expect(real.registers[AIACSR.siselect] == 0x72)
        #expect(access(AIACSR.stopi, .readSet, 0, writes: false) == 9 << 16 | 1)
        #expect(access(AIACSR.vsiselect, .readSet, 1, writes: true) == 0x30)
        #expect(real.registers[AIACSR.vsiselect] == 0x31)
        #expect(access(AIACSR.hviprio1, .readSet, 0, writes: false) == 0x55)
        #expect(access(AIACSR.sireg, .readSet, 0, writes: false) == nil, "the real access traps")
        #expect(access(AIACSR.stopei, .readWrite, 0, writes: true) == nil)

        var plain = VirtualHart(configuration: TestHarts.qemu)
        for n in [AIACSR.siselect, AIACSR.stopi, AIACSR.vsiselect, AIACSR.hviprio1] {
            #expect(plain.accessCSR(CSR(n), operation: .readSet, operand: 0, writes: false, environment: &real) == nil,
                    "no Smaia: \(hex(n)) is illegal whatever the real hart has")
        }
        var noH = SmaiaHarts.aplicIMSIC
        noH.misa &= ~HartConfiguration.extensionBits("H")
        var small = VirtualHart(configuration: noH)
        #expect(small.accessCSR(CSR(AIACSR.siselect), operation: .readSet, operand: 0, writes: false, environment: &real) == 0x72)
        for n in [AIACSR.vsiselect, AIACSR.vstopi, AIACSR.hvien, AIACSR.hviprio1] {
            #expect(small.accessCSR(CSR(n), operation: .readSet, operand: 0, writes: false, environment: &real) == nil,
                    "no H: \(hex(n)) is illegal")
        }
    }
}

/// A real hart with Ssaia: its S- and VS-level AIA CSRs by number; an
/// absent number is an access that traps.
private struct RealAIAHart: HartEnvironment {
    var base = FakeEnvironment()
    var registers: [UInt16: UInt64] = [:]

    mutating func readTime() -> UInt64 { base.readTime() }
    mutating func readCycle() -> UInt64 { base.readCycle() }
    mutating func readInstret() -> UInt64 { base.readInstret() }
    mutating func supervisorExternalInterruptLine() -> Bool { base.supervisorExternalInterruptLine() }
    mutating func readPassthroughCSR(_ csr: CSR) -> UInt64 { base.readPassthroughCSR(csr) }
    mutating func writePassthroughCSR(_ csr: CSR, _ value: UInt64) { base.writePassthroughCSR(csr, value) }
    mutating func readGuardedCSR(_ csr: CSR) -> UInt64? { registers[csr.rawValue] }
    mutating func writeGuardedCSR(_ csr: CSR, _ value: UInt64) {
        if registers[csr.rawValue] != nil { registers[csr.rawValue] = value }
    }
}

// MARK: - Property

/// One random step of a firmware using Smaia, or of its devices.
private struct SmaiaStep: Sendable {
    var kind: Int
    var form: Int
    var pick: Int
    var value: UInt64
    var noise: UInt64
}

private let smaiaStep = zip(Gen.int(in: 0...103), Gen.int(in: 0...5), Gen.int(in: 0...10_000), Gen.uint64(), Gen.uint64())
    .map { SmaiaStep(kind: $0, form: $1, pick: $2, value: $3, noise: $4) }.withoutShrink()

/// `riscv,num-ids`: QEMU virt's 255, the smallest and largest file, or no
/// IMSIC at all.
private let smaiaIdentities = Gen.int(in: 0...5).map { [255, 255, 255, 63, 2047, 0][$0] }

/// `miselect` values worth landing on: every `iprio` number, the file's
/// registers and their neighbours, reserved numbers, 9-bit values above 0xFF.
private let interestingSelects: [UInt64] = Array(0x30...0x3F) + [0x30, 0x30, 0x32, 0x32] + [0x70, 0x72, 0x70, 0x72, 0x71, 0x73, 0x7F]
    + [0x80, 0x82, 0x84, 0x86, 0x81, 0x88, 0xBE, 0xBF, 0xC0, 0xC2, 0xC4, 0xC6, 0xC1, 0xC8, 0xFE, 0xFF]
    + [0x80, 0x80, 0xC0, 0xC0, 0x82, 0xC2, 0x00, 0x2F, 0x40, 0x6F, 0x100, 0x130, 0x170, 0x1FF]

extension SmaiaCSRTests {
    /// Random programs (150 runs x 100-200 steps) of `miselect`, `mireg`,
    /// `mtopei`, `mtopi`, `mvien` and `mvip` instructions in all six Zicsr
    /// forms, mixed with `mie`/`mip`/`mstatus.MIE` changes, device lines and
    /// identities arriving in the file, run on a ``VirtualHart`` and on
    /// ``ReferenceSmaia``: after every step the instruction's result, then
    /// `miselect`, the `iprio` array, every file register, `mtopei`, MEIP,
    /// `mtopi` and the interrupt taken in M- and S-mode agree.
    @Test func randomSmaiaProgramsAgreeWithTheReference() async {
        await propertyCheck(count: 150, input: smaiaIdentities, smaiaStep.array(of: 100...200)) { identities, steps in
            var f = HartFixture(SmaiaHarts.withSmaia(identities: identities))
            var reference = ReferenceSmaia(identities: identities)
            let fileSelects: [UInt64] = [0x70, 0x72]
                + (0..<32).flatMap { k -> [UInt64] in [0x80 + 2 * UInt64(k), 0xC0 + 2 * UInt64(k)] }
            let highest = UInt64(max(identities, 63))
            for (index, step) in steps.enumerated() {
                // Priority numbers that tie with each other and with MEI's 16.
                let pool: [UInt64] = [0, 1, 10, 16, 17, 18, 254, 255]
                let priorities = (0..<8).reduce(UInt64(0)) { $0 | pool[Int((step.value >> (3 * UInt64($1))) & 7)] << (8 * UInt64($1)) }
                let value: UInt64
                switch step.noise % 8 {
                case 0: value = step.value
                case 1: value = 1 << (step.value % 64)
                case 2: value = 0
                case 3: value = .max
                case 4: value = step.value % (highest + 4)
                case 5: value = priorities
                default: value = step.value & step.noise >> 3 & step.value >> 11
                }
                // rs1 = x0 one time in eight.
                let x0 = step.noise & 0x7000 == 0
                var what = ""
                switch step.kind {
                case 0..<14:
                    let select = interestingSelects[step.pick % interestingSelects.count]
                    if step.noise & 0x180 != 0 {
                        what = Self.instruction(&f, &reference, x0: false, AIACSR.miselect, 0, select)
                    } else {
                        what = Self.instruction(&f, &reference, x0: x0, AIACSR.miselect, step.form, value)
                    }
                case 14..<44:
                    let onIprio = (0x30...0x3F).contains(reference.miselect) && step.noise & 0x8000 != 0
                    what = Self.instruction(&f, &reference, x0: x0, AIACSR.mireg, step.form, onIprio ? priorities : value)
                case 44..<54:
                    let operand = step.noise & 0x100 == 0 ? 0 : value
                    what = Self.instruction(&f, &reference, x0: x0, AIACSR.mtopei, step.form, operand)
                case 54..<59:
                    what = Self.instruction(&f, &reference, x0: x0, AIACSR.mtopi, step.form % 4 == 0 ? step.form : 1, value)
                case 59..<62:
                    let csr = step.pick & 1 == 0 ? AIACSR.mvien : AIACSR.mvip
                    what = Self.instruction(&f, &reference, x0: x0, csr, step.form, value)
                case 62..<66:
                    // What a firmware does at boot: delivery on, some
                    // identities of the first word enabled.
                    let enables = step.value | step.noise
                    what = [Self.instruction(&f, &reference, x0: false, AIACSR.miselect, 0, AIACSR.eidelivery),
                            Self.instruction(&f, &reference, x0: false, AIACSR.mireg, 0, 1),
                            Self.instruction(&f, &reference, x0: false, AIACSR.miselect, 0, AIACSR.eie(0)),
                            Self.instruction(&f, &reference, x0: false, AIACSR.mireg, 1, enables)].joined(separator: "; ")
                case 66..<76:
                    guard identities > 0 else { continue }
                    let identity: UInt64
                    switch step.noise & 0x600 {
                    case 0: identity = UInt64(step.pick) % (highest + 3)
                    case 0x200: identity = value
                    default: identity = UInt64(step.pick) % 64
                    }
                    what = "identity \(identity) arrives"
                    f.arrive(identity)
                    reference.seteipnum(identity)
                case 76..<84:
                    let bits = value & (B.msi | B.mti | B.mei | B.ssi | B.sti | B.sei | B.vssi | B.vsei | B.sgei)
                    let kind = [Encode.CSRKind.csrrw, .csrrs, .csrrc][step.form % 3]
                    what = "\(kind) mie \(hex(bits))"
                    f.regs[Int(HartFixture.rs)] = bits
                    _ = f.csr(kind, N.mie, source: HartFixture.rs)
                    let machine = bits & (B.msi | B.mti | B.mei)
                    switch kind {
                    case .csrrw: reference.mie = machine
                    case .csrrs: reference.mie |= machine
                    default: reference.mie &= ~machine
                    }
                case 84..<88:
                    what = "mip = \(hex(value & (B.ssi | B.sti | B.sei)))"
                    f.write(N.mip, value & (B.ssi | B.sti | B.sei))
                case 88..<94:
                    let line: InterruptBits = step.pick & 1 == 0 ? .msip : .mtip
                    let raised = step.noise & 0x400 != 0
                    what = "\(line == .msip ? "MSIP" : "MTIP") = \(raised)"
                    if raised { f.hart.mipDevices.insert(line) } else { f.hart.mipDevices.remove(line) }
                    if line == .msip { reference.msip = raised } else { reference.mtip = raised }
                case 94..<97:
                    reference.mstatusMIE = step.noise & 0x800 != 0
                    what = "mstatus.MIE = \(reference.mstatusMIE)"
                    if reference.mstatusMIE { f.hart.mstatus.insert(.mie) } else { f.hart.mstatus.remove(.mie) }
                case 97..<100:
                    f.env.passthrough[N.hvip] = value & (B.vssi | B.vsti | B.vsei)
                    f.env.supervisorExternalLine = step.noise & 0x1000 != 0
                    what = "VS lines \(hex(value & (B.vssi | B.vsti | B.vsei))), SEI line"
                default:
                    // The firmware orders MSI and MTI around MEI.
                    what = [Self.instruction(&f, &reference, x0: false, AIACSR.miselect, 0, AIACSR.iprio(0)),
                            Self.instruction(&f, &reference, x0: false, AIACSR.mireg, 0, priorities)].joined(separator: "; ")
                }
                if what.contains("differs") {
                    Issue.record("step \(index): \(what)")
                    return
                }
                let differences = Self.compare(&f, reference, fileSelects: fileSelects)
                if !differences.isEmpty {
                    Issue.record("identities \(identities), after step \(index) (\(what)): \(differences.joined(separator: "; "))")
                    return
                }
            }
        }
    }

    /// Runs one CSR instruction in `form` (0-5: the six Zicsr forms; the
    /// register forms read `x0` when `x0`, else x6 = `value`) on both; a description, containing
    /// "differs" when the results differ.
    private static func instruction(_ f: inout HartFixture, _ reference: inout ReferenceSmaia, x0: Bool,
                                    _ csr: UInt16, _ form: Int, _ value: UInt64) -> String {
        let kind = Encode.CSRKind.allCases[form]
        let immediate = form >= 3
        let operation: ReferenceSmaia.Operation = [.write, .set, .clear][form % 3]
        let source: UInt8
        let operand: UInt64
        if immediate {
            source = UInt8(value & 31)
            operand = UInt64(source)
        } else {
            source = x0 ? 0 : HartFixture.rs
            operand = x0 ? 0 : value
            f.regs[Int(HartFixture.rs)] = value
        }
        let writes = form == 0 || form == 3 || source != 0
        let got = f.csr(kind, csr, source: source)
        // An illegal instruction traps and clears mstatus.MIE; the
        // firmware's handler would return with mret and MIE back.
        if got == nil && reference.mstatusMIE { f.hart.mstatus.insert(.mie) }
        let want = reference.execute(csr: csr, operation, operand: operand, writes: writes)
        let description = "\(kind) \(hex(csr)), \(immediate ? "uimm" : source == 0 ? "x0" : "x6") = \(hex(operand))"
        guard got == want else {
            return "\(description) differs: \(got.map { hex($0) } ?? "trap") vs \(want.map { hex($0) } ?? "trap")"
        }
        return description
    }

    /// Every observable the reference models, compared.
    private static func compare(_ f: inout HartFixture, _ reference: ReferenceSmaia, fileSelects: [UInt64]) -> [String] {
        var out: [String] = []
        if f.hart.aia.miselect != reference.miselect {
            out.append("miselect \(hex(f.hart.aia.miselect)) vs \(hex(reference.miselect))")
        }
        for k in 0..<8 {
            let want = reference.peek(select: 0x30 + 2 * UInt64(k))
            if f.hart.aia.iprio[k] != want { out.append("iprio\(2 * k)") }
        }
        if reference.hasIMSIC {
            for select in fileSelects {
                let got = f.hart.aia.imsic.read(select: select)
                let want = reference.peek(select: select)
                if got != want { out.append("mireg[\(hex(select))] \(got.map { hex($0) } ?? "nil") vs \(want.map { hex($0) } ?? "nil")") }
            }
            if f.hart.aia.imsic.topei() != reference.topei() { out.append("mtopei") }
        }
        if f.hart.mipDevices.contains(.meip) != reference.meip { out.append("MEIP") }
        let mtopi = f.read(AIACSR.mtopi)
        if mtopi != reference.mtopi() { out.append("mtopi \(mtopi.map { hex($0) } ?? "trap") vs \(hex(reference.mtopi()))") }
        if f.hart.pendingMachineInterrupt.map({ Int($0.rawValue) }) != reference.takenInterrupt(belowMachine: false) {
            out.append("interrupt taken in M-mode")
        }
        f.hart.mode = .supervisor
        if f.hart.pendingMachineInterrupt.map({ Int($0.rawValue) }) != reference.takenInterrupt(belowMachine: true) {
            out.append("interrupt taken in S-mode")
        }
        f.hart.mode = .machine
        return out
    }
}
