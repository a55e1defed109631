#if arch(riscv64)
import CShim
import VirtCore

// The real debug trigger module (RISC-V Debug Specification, Sdtrig,
// "Trigger Module Registers") as the firmware's: discovered at boot, then
// loaded with the firmware's triggers translated for the installed world
// (TriggerModule.physicalData1(_:for:)).

/// What the real hart's trigger module offers, found the way the
/// specification tells a debugger to ("Trigger Select (tselect)"): write
/// each index to `tselect` and keep it while it reads back and the trigger's
/// `tdata1.type` is not 0; `tinfo` gives its types (without `tinfo`, the
/// type in `tdata1` is the only one). A hart whose `csrr tselect` traps has
/// none. Run once by the cold-boot hart before any guest exists; leaves
/// `tselect = 0` and every trigger as found (QEMU 7.2: 2 triggers, types 2
/// and 6, no `tcontrol`, no `mcontext`, `hit` hard-wired to 0).
@_optimize(size)
func probeTriggers() -> TriggerConfiguration {
    var c = TriggerConfiguration()
    var value: UInt64 = 0
    guard firmvisor_probe_read_tselect(&value) != 0 else { return c }
    let selected = value
    csr_write_tselect(0)
    c.hasInfo = firmvisor_probe_read_tinfo(&value) != 0
    for index in 0..<UInt64(TriggerConfiguration.maximumCount) {
        csr_write_tselect(index)
        guard csr_read_tselect() == index else { break }
        let data1 = csr_read_tdata1()
        let type = TriggerData1.type(of: data1)
        // A trigger held by an external debugger (dmode) is not the firmware's.
        guard type != TriggerType.none, data1 & TriggerData1.dmode == 0 else { break }
        var types = UInt16(1) << UInt16(type)
        if c.hasInfo {
            // tinfo.info = 1: "the currently selected trigger doesn't exist".
            types = UInt16(truncatingIfNeeded: csr_read_tinfo())
            guard types != 1 else { break }
        }
        guard c.addTrigger(types: types, resetType: UInt8(type)) else { break }
    }
    if c.count > 0 { c.hitWritable = probeHitWritable(c) }
    csr_write_tselect(0)
    c.hasControl = firmvisor_probe_read_tcontrol(&value) != 0
    if firmvisor_probe_read_mcontext(&value) != 0 {
        c.hasMachineContext = true
        csr_write_mcontext(~0)
        c.machineContextWritable = csr_read_mcontext()
        csr_write_mcontext(value)
    }
    csr_write_tselect(selected < UInt64(c.count) ? selected : 0)
    return c
}

/// Whether trigger 0 keeps a written `hit` bit (its match type, no
/// privilege bit set, so it cannot fire meanwhile); restores `tdata1`.
private func probeHitWritable(_ c: TriggerConfiguration) -> Bool {
    csr_write_tselect(0)
    let saved = csr_read_tdata1()
    let type = TriggerData1.type(of: saved)
    let hit: UInt64
    switch type {
    case TriggerType.mcontrol: hit = MatchControl.hit
    case TriggerType.mcontrol6: hit = MatchControl6.hit
    default: return false
    }
    csr_write_tdata1(type << 60 | hit)
    let kept = csr_read_tdata1() & hit != 0
    csr_write_tdata1(saved)
    return kept
}

extension HartContext {
    /// Loads the real triggers with the firmware's, translated for the
    /// installed world, when either changed since the last install: after a
    /// world switch only the triggers whose translation differs between the
    /// worlds, after a change of the virtual triggers (a `tdata1`/`tdata2`
    /// write, `tcontrol.mte`) all of them. A hart without triggers does
    /// nothing (its trigger CSRs would trap). Before a real `tdata1` is
    /// overwritten, its `hit` bit is kept (``TriggerModule/absorbHit(physical:trigger:)``).
    @inline(__always)
    mutating func installTriggers() {
        guard hart.triggers.isImplemented else { return }
        // Unchanged triggers whose translation is the same in both worlds
        // (none armed: the usual case) need nothing on a world switch.
        if let last = installedTriggers, last.generation == hart.triggers.generation,
           last.world == installed || !last.worldDependent {
            return
        }
        installTriggersSlowly()
    }

    @inline(never)
    mutating func installTriggersSlowly() {
        let world = installed
        // Only the world changed: the triggers whose translation differs.
        var onlyWorld: World? = nil
        if let last = installedTriggers, last.generation == hart.triggers.generation { onlyWorld = last.world }
        let all = onlyWorld == nil
        var worldDependent = false
        for index in 0..<hart.triggers.configuration.count {
            let other: World = world == .firmware ? .payload : .firmware
            if hart.triggers.physicalData1(index, for: world) != hart.triggers.physicalData1(index, for: other) {
                worldDependent = true
            }
            if let previous = onlyWorld,
               hart.triggers.physicalData1(index, for: world) == hart.triggers.physicalData1(index, for: previous) {
                continue
            }
            csr_write_tselect(UInt64(index))
            if hart.triggers.configuration.hitWritable {
                hart.triggers.absorbHit(physical: csr_read_tdata1(), trigger: index)
            }
            csr_write_tdata1(hart.triggers.physicalData1(index, for: world))
            if all {
                csr_write_tdata2(hart.triggers.physicalData2(index))
                csr_write_tdata3(hart.triggers.physicalData3(index))
            }
        }
        installedTriggers = (hart.triggers.generation, world, worldDependent)
    }

    /// Before the firmware reads `tdata1`: the `hit` bit the real selected
    /// trigger may have set since it was installed (only on a hart whose
    /// `hit` is implemented; QEMU 7.2's is not).
    mutating func absorbTriggerHit() {
        let triggers = hart.triggers
        guard triggers.configuration.hitWritable else { return }
        csr_write_tselect(UInt64(triggers.select))
        hart.triggers.absorbHit(physical: csr_read_tdata1(), trigger: triggers.select)
    }
}
#endif
