/// Which software runs on the real hart.
public enum World: Sendable, Equatable {
    /// The firmware, in real U-mode, as virtual M-mode.
    case firmware
    /// The payload, natively in S-mode (or its U-mode applications).
    case payload
}

extension VirtualHart {
    /// The world the hart's virtual mode belongs to.
    @inlinable public var world: World { mode == .machine ? .firmware : .payload }

    /// Records the M-level interrupt lines in `mip` (the seed's step 3 and
    /// 4): MSIP mirrors the virtual CLINT's `msip`, MTIP its comparator, MEIP
    /// the real PLIC's M context of this hart (the real `mip.MEIP`).
    @inlinable
    public mutating func setDeviceLines(msip: Bool, mtip: Bool, meip: Bool) {
        var bits: InterruptBits = []
        if msip { bits.insert(.msip) }
        if mtip { bits.insert(.mtip) }
        if meip { bits.insert(.meip) }
        mipDevices = bits
    }

    /// The real `mie` to install before returning to `world`, computed from
    /// the virtual state alone (the seed's step 2 and 5):
    ///
    /// - MSIE is always set: the real `msip` is the monitor's doorbell, which
    ///   the monitor clears as soon as it traps.
    /// - MTIE and MEIE follow `vmie` while the virtual line is clear, and are
    ///   cleared once the line is recorded, so the real line does not trap
    ///   again before the firmware has dealt with it (moved `mtimecmp`,
    ///   claimed at the PLIC). A recorded line that is not taken at once
    ///   means the firmware runs in vM-mode with `MIE = 0`; every way out of
    ///   that state (an `mstatus` write, `mret`, `wfi`) traps, and the
    ///   monitor re-reads the line there, so nothing is lost.
    /// - S-level (and VS-level) enables are the payload's `sie` in the
    ///   payload's world, and zero in the firmware's: an interrupt delegated to
    ///   S would otherwise be taken while the firmware runs in U-mode.
    @inlinable
    public func physicalInterruptEnables(for world: World) -> InterruptBits {
        var bits: InterruptBits = [.msip]
        if mie.contains(.mtip) && !mipDevices.contains(.mtip) { bits.insert(.mtip) }
        if mie.contains(.meip) && !mipDevices.contains(.meip) { bits.insert(.meip) }
        if world == .payload {
            bits.formUnion(mie.intersection(mideleg))
        }
        return bits
    }

    /// The real `mie` while the monitor waits in `wfi` for the firmware: the
    /// enables of the firmware's world plus every virtual enable whose
    /// interrupt could wake the virtual `wfi` through a real line (SEIP from
    /// the PLIC's S context).
    @inlinable
    public var wakeUpEnables: InterruptBits {
        var bits = physicalInterruptEnables(for: .firmware)
        if mie.contains(.seip) { bits.insert(.seip) }
        // The payload's stimecmp stays in the real register while the
        // firmware runs, so the real STIP is the virtual one (Sstc).
        if mie.contains(.stip) && stimecmpDrivesSTIP { bits.insert(.stip) }
        return bits
    }
}
