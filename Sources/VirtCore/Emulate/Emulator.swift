/// What the platform must do after the virtual hart executed one instruction.
public enum ExecutionResult: Equatable, Sendable {
    /// Continue at `pc` in the hart's (possibly new) ``VirtualHart/mode``;
    /// when the mode left M, the platform switches to the payload's world.
    case resume(pc: UInt64)
    /// `wfi` with nothing pending: wait on the real hart for an interrupt that
    /// could wake the virtual one, re-evaluate, then continue at `pc`.
    case waitForInterrupt(pc: UInt64)
    /// Execute this fence on the real hart, then continue at `pc`.
    case fence(Fence, pc: UInt64)
    /// A load or store the monitor must perform on a device (or refuse with an
    /// access fault); then continue at `pc`.
    case memoryAccess(MemoryAccess, isStore: Bool, pc: UInt64)
}

/// Address-translation fences the firmware may execute.
public enum Fence: Equatable, Sendable {
    /// `sfence.vma`; `address`/`asid` are nil when `rs1`/`rs2` is `x0`.
    case sfenceVMA(address: UInt64?, asid: UInt64?)
    /// `hfence.vvma` (H extension).
    case hfenceVVMA(address: UInt64?, asid: UInt64?)
    /// `hfence.gvma` (H extension).
    case hfenceGVMA(address: UInt64?, vmid: UInt64?)
}

extension VirtualHart {
    /// Executes one trapped instruction of the guest in the current virtual
    /// mode, as the privileged specification defines it. Every illegal case
    /// (unknown encoding, insufficient privilege, unknown CSR) injects an
    /// illegal-instruction exception with the instruction bits in `mtval`, as
    /// QEMU reports them.
    ///
    /// - Parameters:
    ///   - bits: the instruction bits (the low 16 only for compressed ones).
    ///   - pc: the instruction's address.
    ///   - registers: the guest's integer registers: the operands, and the
    ///     destination of a CSR instruction's old value.
    ///   - env: the real machine under the hart (counters, the S-level
    ///     external line, the H extension's CSRs).
    /// - Returns: what the platform must do next.
    public mutating func execute<R: GeneralRegisters, E: HartEnvironment>(
        _ bits: UInt32, pc: UInt64, registers: inout R, environment env: inout E
    ) -> ExecutionResult {
        if executePlainCSR(bits, registers: &registers) { return .resume(pc: pc &+ 4) }
        let decoded = Decoder.decode(bits)
        let next = pc &+ decoded.length
        let illegalValue = decoded.length == 2 ? UInt64(bits & 0xFFFF) : UInt64(bits)

        switch decoded.instruction {
        case .csr(let i):
            let operand = i.isImmediate ? UInt64(i.source) : registers.get(i.source)
            guard let old = accessCSR(i.csr, operation: i.operation, operand: operand,
                                      writes: i.writes, environment: &env) else {
                return .resume(pc: takeTrap(.exception(.illegalInstruction), value: illegalValue, pc: pc))
            }
            registers.set(i.rd, old)
            return .resume(pc: next)

        case .mret:
            guard mode == .machine else { break }
            return .resume(pc: returnFromMachineTrap())

        case .sret:
            guard mode == .machine || (mode == .supervisor && !mstatus.contains(.tsr)) else { break }
            return .resume(pc: returnFromSupervisorTrap(environment: &env))

        case .wfi:
            // U-mode wfi is illegal (S exists); S-mode wfi with TW is illegal.
            guard mode == .machine || (mode == .supervisor && !mstatus.contains(.tw)) else { break }
            return wfiMayComplete(environment: &env) ? .resume(pc: next) : .waitForInterrupt(pc: next)

        case .sfenceVMA(let rs1, let rs2):
            guard mode == .machine || (mode == .supervisor && !mstatus.contains(.tvm)) else { break }
            return .fence(.sfenceVMA(address: rs1 == 0 ? nil : registers.get(rs1),
                                     asid: rs2 == 0 ? nil : registers.get(rs2)), pc: next)

        case .hfenceVVMA(let rs1, let rs2), .hfenceGVMA(let rs1, let rs2):
            guard configuration.hasHypervisor, mode >= .supervisor else { break }
            if case .hfenceGVMA = decoded.instruction {
                guard mode == .machine || !mstatus.contains(.tvm) else { break }
                return .fence(.hfenceGVMA(address: rs1 == 0 ? nil : registers.get(rs1),
                                          vmid: rs2 == 0 ? nil : registers.get(rs2)), pc: next)
            }
            return .fence(.hfenceVVMA(address: rs1 == 0 ? nil : registers.get(rs1),
                                      asid: rs2 == 0 ? nil : registers.get(rs2)), pc: next)

        case .ecall:
            return .resume(pc: takeTrap(.exception(.environmentCall(from: mode)), value: 0, pc: pc))

        case .ebreak:
            return .resume(pc: takeTrap(.exception(.breakpoint), value: pc, pc: pc))

        case .load(let access):
            return .memoryAccess(access, isStore: false, pc: next)

        case .store(let access):
            return .memoryAccess(access, isStore: true, pc: next)

        case .atomic:
            // An AMO, `lr` or `sc` never raises illegal-instruction on a hart
            // with A: the bits do not describe this trap; report it as raised.
            break

        case .illegal:
            break
        }
        return .resume(pc: takeTrap(.exception(.illegalInstruction), value: illegalValue, pc: pc))
    }
}
