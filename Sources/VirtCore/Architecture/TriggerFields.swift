/// Fields of the trigger registers for RV64 (RISC-V Debug Specification,
/// Sdtrig, "Trigger Module Registers"; the field positions are the same in
/// version 0.13.2 and 1.0). Each mask is named as the specification names
/// the field.

/// `tdata1`: the fields every trigger type shares ("Trigger Data 1 (tdata1)").
public enum TriggerData1 {
    /// `type`, bits 63:60: which kind of trigger the remaining bits describe.
    public static let type: UInt64 = 0xF << 60
    /// `dmode`, bit 59: only Debug Mode may write the trigger. Writable only
    /// from Debug Mode, so it stays 0 for a hart's own (M-mode) software.
    public static let dmode: UInt64 = 1 << 59
    /// `data`, bits 58:0: what the type defines.
    public static let data: UInt64 = (1 << 59) - 1

    /// The `type` field of a `tdata1` value.
    @inlinable public static func type(of value: UInt64) -> UInt64 { value >> 60 }
}

/// Values of `tdata1.type` and the bits `tinfo.info` uses for them (bit N =
/// type N is supported by the selected trigger, "Trigger Info (tinfo)").
public enum TriggerType {
    /// There is no trigger at this `tselect`.
    public static let none: UInt64 = 0
    /// `mcontrol`: address/data match (the 0.13 form, deprecated in 1.0).
    public static let mcontrol: UInt64 = 2
    /// `mcontrol6`: address/data match (the 1.0 form).
    public static let mcontrol6: UInt64 = 6
    /// `disabled`: the trigger exists and is off; the other bits are ignored.
    public static let disabled: UInt64 = 15

    /// The types the monitor can virtualize: the two address/data match
    /// triggers, whose privilege bits it translates between the worlds
    /// (``TriggerModule/physicalData1(_:for:)``), and the disabled state.
    /// Instruction count, interrupt and exception triggers (3, 4, 5) would
    /// count or see the monitor's own traps; they are not offered.
    public static let virtualizable: UInt16 = 1 << 2 | 1 << 6 | 1 << 15
}

/// `mcontrol` (`tdata1.type = 2`): "Match Control (mcontrol)".
public enum MatchControl {
    /// `load`: match the address (or data) of loads.
    public static let load: UInt64 = 1 << 0
    /// `store`: match the address (or data) of stores.
    public static let store: UInt64 = 1 << 1
    /// `execute`: match the address of executed instructions.
    public static let execute: UInt64 = 1 << 2
    /// `u`: enabled in U-mode.
    public static let u: UInt64 = 1 << 3
    /// `s`: enabled in S-mode.
    public static let s: UInt64 = 1 << 4
    /// `m`: enabled in M-mode.
    public static let m: UInt64 = 1 << 6
    /// `match`, four bits: how `tdata2` is compared (0 = equal).
    public static let match: UInt64 = 0xF << 7
    /// `chain`: the next trigger must match too.
    public static let chain: UInt64 = 1 << 11
    /// `action`, four bits: 0 raises a breakpoint exception, 1 enters Debug Mode.
    public static let action: UInt64 = 0xF << 12
    /// `sizelo`, two bits: the low bits of the access size to match.
    public static let sizelo: UInt64 = 3 << 16
    /// `timing`: fire after the instruction instead of before.
    public static let timing: UInt64 = 1 << 18
    /// `select`: compare the data instead of the address.
    public static let select: UInt64 = 1 << 19
    /// `hit`: set by the hardware when this trigger matches (optional).
    public static let hit: UInt64 = 1 << 20
    /// `sizehi`, two bits (RV64): the high bits of the access size.
    public static let sizehi: UInt64 = 3 << 21
    /// `maskmax`, six bits: the largest NAPOT range `match = 1` supports.
    public static let maskmax: UInt64 = 0x3F << 53

    /// The privilege bits: where the trigger fires.
    public static let modes: UInt64 = m | s | u

    /// What a write may set besides `hit` (QEMU 7.2, `type2_mcontrol_validate`:
    /// the access kinds, the privilege bits and the size; `match`, `chain`,
    /// `action`, `timing`, `select`, `maskmax` are hard-wired to 0, which the
    /// specification allows for each of these WARL fields).
    public static let writable: UInt64 = load | store | execute | modes | sizelo | sizehi

    /// The access size, `sizehi:sizelo` (0 = any, 1 = 8-bit, 2 = 16-bit,
    /// 3 = 32-bit, 4 = 48-bit, 5 = 64-bit, ...).
    @inlinable public static func size(of value: UInt64) -> UInt64 {
        (value >> 21 & 3) << 2 | (value >> 16 & 3)
    }
}

/// `mcontrol6` (`tdata1.type = 6`): "Match Control Type 6 (mcontrol6)".
/// Bits 15:0 are laid out as in `mcontrol`, so they are ``MatchControl``'s.
public enum MatchControl6 {
    public static let load = MatchControl.load
    public static let store = MatchControl.store
    public static let execute = MatchControl.execute
    public static let u = MatchControl.u
    public static let s = MatchControl.s
    public static let m = MatchControl.m
    public static let match = MatchControl.match
    public static let chain = MatchControl.chain
    public static let action = MatchControl.action
    /// `size`, four bits (same encoding as `mcontrol`'s `sizehi:sizelo` up to 64 bits).
    public static let size: UInt64 = 0xF << 16
    /// `timing` in Sdtrig version 0 (QEMU 7.2's `tinfo.version`); reserved in 1.0.
    public static let timing: UInt64 = 1 << 20
    public static let select: UInt64 = 1 << 21
    /// `hit` (1.0: `hit0`).
    public static let hit: UInt64 = 1 << 22
    /// `vu`: enabled in VU-mode (H extension).
    public static let vu: UInt64 = 1 << 23
    /// `vs`: enabled in VS-mode (H extension).
    public static let vs: UInt64 = 1 << 24

    /// The privilege bits: where the trigger fires.
    public static let modes: UInt64 = m | s | u | vs | vu

    /// What a write may set besides `hit` (QEMU 7.2, `type6_mcontrol6_validate`:
    /// the access kinds, the five privilege bits and the size).
    public static let writable: UInt64 = load | store | execute | modes | size

    /// The access size field.
    @inlinable public static func size(of value: UInt64) -> UInt64 { value >> 16 & 0xF }
}

/// The access sizes both match controls accept (bit N = size encoding N):
/// any, 8, 16, 32 and 64 bits, as QEMU 7.2's `access_size` table; a write
/// of another encoding keeps the other fields and matches any size.
public enum TriggerSize {
    public static let legal: UInt16 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 5

    @inlinable public static func isLegal(_ size: UInt64) -> Bool {
        size < 16 && (legal >> UInt16(size)) & 1 == 1
    }
}

/// `tcontrol`: "Trigger Control (tcontrol)" (optional; not on QEMU 7.2).
public enum TriggerControl {
    /// `mte`: triggers with `action = 0` may fire in M-mode.
    public static let mte: UInt64 = 1 << 3
    /// `mpte`: `mte` before the last trap into M-mode.
    public static let mpte: UInt64 = 1 << 7
    /// Both fields are WARL and writable; the rest reads 0.
    public static let writable: UInt64 = mte | mpte
}
