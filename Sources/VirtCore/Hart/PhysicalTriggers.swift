/// What the real triggers hold in each world: the firmware's triggers with
/// their privilege bits moved to where the firmware and the payload really
/// run (RISC-V Debug Specification, Sdtrig: `mcontrol`'s and `mcontrol6`'s
/// `m`, `s`, `u`, `vs`, `vu` say in which modes a trigger fires).
///
/// - Firmware's world: the firmware runs in real U-mode, so a trigger it
///   armed for M (`m = 1`, and `tcontrol.mte = 1` where `tcontrol` exists)
///   gets `u` instead; its `s`, `u`, `vs`, `vu` bits concern the payload
///   and are dropped, so they cannot fire on the firmware.
/// - Payload's world: the payload runs in real S/U-mode itself, so `s`, `u`
///   (and `vs`, `vu`) stay and `m` is dropped.
///
/// Neither value ever has `m` (the monitor runs in real M-mode and must never
/// fire), `dmode` or a non-zero `action`: the real trigger only raises a
/// breakpoint exception (cause 3), which the monitor forwards where the
/// hardware would have taken it (into virtual M-mode, or where the real
/// `medeleg` sends it from the payload). The real hardware legalises the
/// same way (QEMU 7.2 keeps the access kinds, the privilege bits and a legal
/// size), so the translated value is a fixed point of its write.
extension TriggerModule {
    /// The real `tdata1` of trigger `index` while `world` is installed.
    @inlinable
    public func physicalData1(_ index: Int, for world: World) -> UInt64 {
        let value = data1(index)
        let type = TriggerData1.type(of: value)
        let modes: UInt64
        let u: UInt64
        let m: UInt64
        switch type {
        case TriggerType.mcontrol:
            (modes, u, m) = (MatchControl.modes, MatchControl.u, MatchControl.m)
        case TriggerType.mcontrol6:
            (modes, u, m) = (MatchControl6.modes, MatchControl6.u, MatchControl6.m)
        default:
            // No privilege bits (disabled): nothing can fire.
            return type << 60
        }
        let action: UInt64 = MatchControl.action  // the same bits in both types
        let base = value & ~(modes | action | TriggerData1.dmode)
        switch world {
        case .firmware:
            return value & m != 0 && firesInMachineMode ? base | u : base
        case .payload:
            return base | (value & modes & ~m)
        }
    }

    /// The real `tdata2` of trigger `index` (the same in both worlds: the
    /// firmware's address, which the payload's accesses match as they would
    /// natively).
    @inlinable
    public func physicalData2(_ index: Int) -> UInt64 { data2(index) }

    /// The real `tdata3`: 0, no extra match condition.
    @inlinable
    public func physicalData3(_ index: Int) -> UInt64 { 0 }
}
