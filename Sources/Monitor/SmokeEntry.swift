// PLACEHOLDER -- a smoke test for the bare-metal build, not the monitor.
//
// It proves the image links and boots end to end: the cold-boot hart prints
// one line on the QEMU virt UART and powers off through sifive_test; any trap
// prints mcause/mepc and exits with a failure code. The real hart entry and
// trap handler replace this file.
#if arch(riscv64)
import CShim

private let uart0: UInt = 0x1000_0000      // 16550: THR +0, LSR +5 (bit 5 = THR empty)
private let sifiveTest: UInt = 0x10_0000
private let sifivePass: UInt32 = 0x5555         // QEMU exits with status 0
// FAIL is 0x3333 | (code << 16) and QEMU exits with `code`: plain 0x3333 would
// exit with status 0, so the failure code carries code 1.
private let sifiveFail: UInt32 = 0x1_3333

private func smokePutByte(_ byte: UInt8) {
    while mmio_read8(uart0 + 5) & 0x20 == 0 {}
    mmio_write8(uart0, byte)
}

private func smokePut(_ text: StaticString) {
    text.withUTF8Buffer { bytes in
        for byte in bytes { smokePutByte(byte) }
    }
}

private func smokePutDecimal(_ value: UInt64) {
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { buffer in
        repeat {
            buffer[count] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
            rest /= 10
            count += 1
        } while rest != 0
        while count > 0 {
            count -= 1
            smokePutByte(buffer[count])
        }
    }
}

private func smokePutHex(_ value: UInt64) {
    smokePut("0x")
    var shift = 60
    while shift >= 0 {
        let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
        smokePutByte(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
        shift -= 4
    }
}

private func smokePowerOff(_ code: UInt32) -> Never {
    mmio_write32(sifiveTest, code)
    while true { cpu_wfi() }
}

@_cdecl("firmvisor_hart_entry")
public func firmvisorHartEntry(hartid: UInt64, fdt: UInt64, dyninfo: UInt64, cold: UInt64) -> Never {
    if cold != 0 {
        smokePut("Firmvisor smoke: hart ")
        smokePutDecimal(hartid)
        smokePut(" (mhartid ")
        smokePutDecimal(csr_read_mhartid())
        smokePut(", mtvec ")
        smokePutHex(csr_read_mtvec())
        smokePut(", mscratch ")
        smokePutHex(csr_read_mscratch())
        smokePut(", fdt ")
        smokePutHex(fdt)
        smokePut(")\n")
        smokePowerOff(sifivePass)
    }
    while true { cpu_wfi() }
}

@_cdecl("firmvisor_trap")
public func firmvisorTrap(_ frame: UnsafeMutablePointer<firmvisor_frame>) {
    smokePut("Firmvisor smoke: unexpected trap on hart ")
    smokePutDecimal(frame.pointee.hartid)
    smokePut(": mcause ")
    smokePutHex(csr_read_mcause())
    smokePut(" mepc ")
    smokePutHex(csr_read_mepc())
    smokePut(" mtval ")
    smokePutHex(csr_read_mtval())
    smokePut("\n")
    smokePowerOff(sifiveFail)
}
#endif
