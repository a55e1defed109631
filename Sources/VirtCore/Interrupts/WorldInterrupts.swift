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

    /// Records the M-level interrupt lines of the virtual devices in
    /// `mip` (the seed's step 3 and 4): MSIP mirrors the virtual CLINT's
    /// `msip`, MTIP its comparator, MEIP the virtual PLIC's M context.
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
    /// - MTIE follows `vmie.MTIE` while the virtual MTIP is clear, and is
    ///   cleared once the virtual MTIP is recorded, so the real timer does not
    ///   trap again before the firmware moves `mtimecmp`.
    /// - MEIE is always set: the monitor claims each real external interrupt
    ///   at once (which silences it at the PLIC) and records it in the virtual
    ///   PLIC, whether or not the firmware enabled MEIE.
    /// - S-level (and VS-level) enables are the payload's `sie` in the
    ///   payload's world, and zero in the firmware's: an interrupt delegated to
    ///   S would otherwise be taken while the firmware runs in U-mode.
    @inlinable
    public func physicalInterruptEnables(for world: World) -> InterruptBits {
        var bits: InterruptBits = [.msip, .meip]
        if mie.contains(.mtip) && !mipDevices.contains(.mtip) { bits.insert(.mtip) }
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
        return bits
    }
}
