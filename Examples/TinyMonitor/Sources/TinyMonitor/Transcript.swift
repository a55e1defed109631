import VirtCore

extension Event: CustomStringConvertible {
    public var description: String {
        switch self {
        case .emulated(let pc, let bits):
            return "\(hex(pc))  emulate   \(disassemble(bits))"
        case .device(let pc, let access, let outcome):
            let what: String
            switch access.operation {
            case .load(let width, _): what = "load\(width * 8)  \(hex(access.address))"
            case .store(let width): what = "store\(width * 8) \(hex(access.address)) = \(hex(access.value))"
            case .atomic(let op, let width): what = "amo\(op)\(width * 8) \(hex(access.address))"
            }
            switch outcome {
            case .completed(let value):
                return "\(hex(pc))  device    \(what)" + (access.isStore ? "" : " -> \(hex(value))")
            case .exception(let e):
                return "\(hex(pc))  device    \(what): \(e)"
            }
        case .timerProgrammed(let hart, let deadline):
            return "            physical  real mtimecmp[\(hart)] = \(deadline == .max ? "max" : String(deadline))"
        case .doorbell(let hart):
            return "            physical  doorbell: real msip[\(hart)] = 1"
        case .waited(let pc, let from, let until):
            return "\(hex(pc))  wfi       real wfi from time \(from) to \(until)"
        case .physicalInterrupt(let interrupt, let time):
            return "            real      \(interrupt) interrupt at time \(time)"
        case .injected(let interrupt, let epc, let vector):
            return "\(hex(epc))  inject    \(interrupt) -> \(hex(vector))"
        case .exception(let exception, let epc, let vector):
            return "\(hex(epc))  trap      \(exception) -> \(hex(vector))"
        case .worldSwitch(let world, let pc):
            return "            switch    to the \(world) world at \(hex(pc))"
        case .powerOff(let code, let time):
            return "            power-off \(hex(UInt64(code))) at time \(time)"
        case .stuck(let pc):
            return "\(hex(pc))  stuck     wfi with nothing to wake it"
        }
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// The assembly of the privileged instructions the demo traps on.
public func disassemble(_ bits: UInt32) -> String {
    let names = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
                 "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"]
    switch Decoder.decode(bits).instruction {
    case .csr(let i):
        let op = ["csrrw", "csrrs", "csrrc"][Int(i.operation.rawValue)] + (i.isImmediate ? "i" : "")
        let csr = i.csr.name.map { "\($0)" } ?? hex(UInt64(i.csr.rawValue))
        let source = i.isImmediate ? String(i.source) : names[Int(i.source)]
        return "\(op) \(names[Int(i.rd)]), \(csr), \(source)"
    case .mret: return "mret"
    case .sret: return "sret"
    case .wfi: return "wfi"
    case .ecall: return "ecall"
    case .ebreak: return "ebreak"
    default: return hex(UInt64(bits))
    }
}
