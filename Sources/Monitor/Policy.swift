#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// A monitor policy: code the trap loop calls at fixed points, chosen at
/// boot (`scripts/run --policy offload,sandbox`, ``Policies``). Dispatch is
/// static: each policy is a concrete type whose hooks ``Policies`` calls
/// directly when it is enabled; a policy's per-hart state lives in
/// ``HartContext`` (no existentials, no allocation, nothing stored but
/// values). Every hook has a default that does nothing.
///
/// | hook | called |
/// |---|---|
/// | ``payloadCall(_:pc:registers:)`` | the payload's `ecall` (cause 9) reached the monitor, before the firmware sees it |
/// | ``physicalInterrupt(_:)`` | a physical interrupt was acknowledged, before what it raised is injected |
/// | ``enteringFirmware(_:cause:registers:)`` | a world switch from the payload to the firmware, which takes trap `cause` |
/// | ``enteringPayload(_:pc:registers:)`` | a world switch from the firmware to the payload, at `pc` |
/// | ``permitsFirmwareMPRV(_:)`` | the firmware loads or stores with `mstatus.MPRV` (the monitor would perform it as the payload's) |
/// | ``firmwarePMP(_:mprv:)`` | the firmware world's physical PMP is installed (world switch, PMP or MPRV change) |
protocol MonitorPolicy {
    static func payloadCall(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters) -> UInt64?
    static func physicalInterrupt(_ context: inout HartContext)
    static func enteringFirmware(_ context: inout HartContext, cause: UInt64, registers: FrameRegisters)
    static func enteringPayload(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters)
    static func permitsFirmwareMPRV(_ context: borrowing HartContext) -> Bool
    static func firmwarePMP(_ context: borrowing HartContext, mprv: Bool) -> (configuration: (UInt64, UInt64), catchAll: UInt64)?
}

extension MonitorPolicy {
    static func payloadCall(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters) -> UInt64? { nil }
    static func physicalInterrupt(_ context: inout HartContext) {}
    static func enteringFirmware(_ context: inout HartContext, cause: UInt64, registers: FrameRegisters) {}
    static func enteringPayload(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters) {}
    static func permitsFirmwareMPRV(_ context: borrowing HartContext) -> Bool { true }
    static func firmwarePMP(_ context: borrowing HartContext, mprv: Bool) -> (configuration: (UInt64, UInt64), catchAll: UInt64)? { nil }
}

/// The policies enabled at boot, from the ``BootDescriptor``'s option bits
/// (``BootOptions``): `offload` unless bit 0, `sandbox` with bit 1.
struct Policies: Equatable {
    /// ``OffloadPolicy``: the payload's hot SBI calls served in the monitor.
    var offload: Bool
    /// ``SandboxPolicy``: the firmware kept out of the payload's memory and registers.
    var sandbox: Bool

    init(options: UInt32) {
        offload = options & BootOptions.noOffload == 0
        sandbox = options & BootOptions.sandbox != 0
    }
}

extension HartContext {
    @inline(__always)
    mutating func policyPayloadCall(pc: UInt64, registers: FrameRegisters) -> UInt64? {
        if policies.offload, let next = OffloadPolicy.payloadCall(&self, pc: pc, registers: registers) { return next }
        if policies.sandbox, let next = SandboxPolicy.payloadCall(&self, pc: pc, registers: registers) { return next }
        return nil
    }

    @inline(__always)
    mutating func policyPhysicalInterrupt() {
        if policies.offload { OffloadPolicy.physicalInterrupt(&self) }
        if policies.sandbox { SandboxPolicy.physicalInterrupt(&self) }
    }

    @inline(__always)
    mutating func policyEnteringFirmware(cause: UInt64) {
        if policies.offload { OffloadPolicy.enteringFirmware(&self, cause: cause, registers: FrameRegisters(frame: frame)) }
        if policies.sandbox { SandboxPolicy.enteringFirmware(&self, cause: cause, registers: FrameRegisters(frame: frame)) }
    }

    @inline(__always)
    mutating func policyEnteringPayload(pc: UInt64) {
        if policies.offload { OffloadPolicy.enteringPayload(&self, pc: pc, registers: FrameRegisters(frame: frame)) }
        if policies.sandbox { SandboxPolicy.enteringPayload(&self, pc: pc, registers: FrameRegisters(frame: frame)) }
    }

    @inline(__always)
    func policiesPermitFirmwareMPRV() -> Bool {
        (!policies.offload || OffloadPolicy.permitsFirmwareMPRV(self))
            && (!policies.sandbox || SandboxPolicy.permitsFirmwareMPRV(self))
    }
}

/// Set when the payload first runs on any hart (the sandbox's walls go up).
nonisolated(unsafe) var payloadStarted: UInt32 = 0

/// The sandbox's per-hart state.
struct SandboxState {
    /// The payload's x0…x31 from before the firmware was entered, and which
    /// of them are hidden; `hidden == 0`: nothing is kept.
    var saved = InlineArray<32, UInt64>(repeating: 0)
    var hidden: UInt32 = 0
    /// Registers the payload takes from the firmware on the return at ``resumePC``.
    var returned: UInt32 = 0
    var resumePC: UInt64 = 0
    /// The firmware handles a payload trap that needs MPRV (``PayloadSandbox/permitsMPRV``).
    var mprvAllowed = false
}

/// The "protect the payload" policy (`--policy sandbox`): while the firmware
/// runs, the payload's memory is out of its reach (PMP,
/// ``PMPLayout/sandboxedFirmwareConfiguration(_:mprv:memory:)``), its MPRV
/// accesses are refused except while it handles a payload trap that needs
/// them, and the payload's registers it does not need are hidden
/// (``PayloadSandbox``).
enum SandboxPolicy: MonitorPolicy {
    static func enteringFirmware(_ context: inout HartContext, cause: UInt64, registers: FrameRegisters) {
        let rule = PayloadSandbox(cause: cause)
        context.sandbox.mprvAllowed = rule.permitsMPRV
        let hidden = rule.hiddenRegisters
        guard hidden != 0, let offset = rule.resumeOffset else {
            context.sandbox.hidden = 0
            return
        }
        for i in 1..<32 {
            context.sandbox.saved[i] = registers[i]
            if hidden & (1 << UInt32(i)) != 0 { registers[i] = 0 }
        }
        context.sandbox.hidden = hidden
        context.sandbox.returned = rule.returnedRegisters
        context.sandbox.resumePC = context.hart.mepc &+ offset
    }

    static func enteringPayload(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters) {
        if payloadStarted == 0 {
            payloadStarted = 1
            cpu_fence()
        }
        context.sandbox.mprvAllowed = false
        guard context.sandbox.hidden != 0 else { return }
        if pc == context.sandbox.resumePC {
            let returned = context.sandbox.returned
            for i in 1..<32 where returned & (1 << UInt32(i)) == 0 {
                registers[i] = context.sandbox.saved[i]
            }
        }
        context.sandbox.hidden = 0
    }

    static func permitsFirmwareMPRV(_ context: borrowing HartContext) -> Bool {
        context.sandbox.mprvAllowed
    }

    /// Until the payload first runs (on any hart) the firmware boots: it
    /// reads and edits the device tree, which lies in what becomes the
    /// payload's memory, after it has set its PMP (OpenSBI 1.1 does). The
    /// walls go up at the first entry into the payload and stay up.
    static func firmwarePMP(_ context: borrowing HartContext, mprv: Bool) -> (configuration: (UInt64, UInt64), catchAll: UInt64)? {
        guard atomicLoad(&payloadStarted) != 0 else { return nil }
        return context.layout.sandboxedFirmwareConfiguration(context.hart.pmp, mprv: mprv, memory: context.memory)
    }
}

/// The offload policy (default; `--no-offload` or `--policy none` turn it
/// off): Offload.swift. Its trap-level short cut (the Sstc set_timer in
/// trap.S, `frame.timer`) is enabled with it.
enum OffloadPolicy: MonitorPolicy {
    static func payloadCall(_ context: inout HartContext, pc: UInt64, registers: FrameRegisters) -> UInt64? {
        context.serveOffloadedCall(pc: pc, registers: registers)
    }

    static func physicalInterrupt(_ context: inout HartContext) {
        _ = context.completeOffloadedTimerEvent()
    }
}
#endif
