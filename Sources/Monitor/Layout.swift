#if arch(riscv64)
/// Fixed addresses of the boot protocol (see the README, "Memory layout").
enum Layout {
    /// Where QEMU's `-device loader` places the firmware (`fw_dynamic.bin`).
    static let firmwareEntry: UInt64 = 0x8010_0000
    /// The monitor owns `[0x8000_0000, firmwareEntry)`.
    static let monitorBase: UInt64 = 0x8000_0000
}
#endif
