extension VirtualHart {
    /// Executes `csrrw`, `csrrs` or `csrrc` (register forms) on a CSR that is
    /// plain storage in virtual M-mode — `mscratch`, `mepc`, `mcause`,
    /// `mtval`, `mtinst`/`mtval2` with H, their S-level counterparts, and a
    /// read of `mstatus` — and returns true; returns
    /// false, changing nothing, for any other instruction.
    ///
    /// These are the accesses a firmware's trap entry and exit make on every
    /// trap (OpenSBI: `csrrw sp, mscratch, sp`, `csrr mepc`, `csrr mcause`,
    /// `csrr mtval`, `csrw mepc`), none of which can make an interrupt
    /// pending or change the mode, so the monitor may resume the firmware
    /// right after them. Same semantics as ``accessCSR(_:operation:operand:writes:environment:)``
    /// (Zicsr: `csrrs`/`csrrc` with `rs1 = x0` do not write; `xepc` keeps
    /// its legal bits only), which ``execute(_:pc:registers:environment:)``
    /// also routes through here.
    @inlinable
    public mutating func executePlainCSR<R: GeneralRegisters>(_ bits: UInt32, registers: inout R) -> Bool {
        let funct3 = (bits >> 12) & 7
        guard bits & 0x7F == 0x73, funct3 >= 1, funct3 <= 3, mode == .machine else { return false }
        let rd = UInt8((bits >> 7) & 31)
        let rs1 = UInt8((bits >> 15) & 31)
        let operation: CSROperation = funct3 == 1 ? .readWrite : funct3 == 2 ? .readSet : .readClear
        let writes = funct3 == 1 || rs1 != 0
        let operand = registers.get(rs1)
        let old: UInt64
        switch bits >> 20 {
        case 0x340:
            old = mscratch
            if writes { mscratch = operation.apply(old: old, operand: operand) }
        case 0x341:
            old = mepc & masks.epcWritable
            if writes { mepc = operation.apply(old: old, operand: operand) & masks.epcWritable }
        case 0x342:
            old = mcause
            if writes { mcause = operation.apply(old: old, operand: operand) }
        case 0x343:
            old = mtval
            if writes { mtval = operation.apply(old: old, operand: operand) }
        case 0x300 where !writes:
            // Reading mstatus (OpenSBI's trap entry looks at MPP) changes nothing.
            old = mstatusValue
        case 0x34A where configuration.hasHypervisor:
            old = mtinst
            if writes { mtinst = operation.apply(old: old, operand: operand) }
        case 0x34B where configuration.hasHypervisor:
            old = mtval2
            if writes { mtval2 = operation.apply(old: old, operand: operand) }
        case 0x140:
            old = sscratch
            if writes { sscratch = operation.apply(old: old, operand: operand) }
        case 0x141:
            old = sepc & masks.epcWritable
            if writes { sepc = operation.apply(old: old, operand: operand) & masks.epcWritable }
        case 0x142:
            old = scause
            if writes { scause = operation.apply(old: old, operand: operand) }
        case 0x143:
            old = stval
            if writes { stval = operation.apply(old: old, operand: operand) }
        default:
            return false
        }
        registers.set(rd, old)
        return true
    }
}
