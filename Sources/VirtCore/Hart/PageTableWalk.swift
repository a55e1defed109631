/// Reads guest physical memory for the monitor, refusing what the guest
/// could not reach itself (the monitor's own memory, unbacked addresses).
public protocol PhysicalMemoryReader {
    /// The aligned 64-bit word at `address`, or `nil` when it may not be read.
    mutating func read64(_ address: UInt64) -> UInt64?
}

/// Software address translation for Sv39, Sv48 and Sv57 (privileged
/// specification, "Virtual Address Translation Process").
///
/// The monitor uses it to find the physical address behind a payload access
/// that the PMP refused after the hardware had translated it, so the walk
/// checks only what makes an entry usable (V set, the reserved `W` without
/// `R` combination absent, leaf alignment), not permissions: the hardware
/// has already checked those.
public enum PageTableWalk {
    /// The physical address of `virtualAddress` under `satp`, or `nil` when
    /// the walk fails. With `satp.MODE` = Bare the address is its own
    /// translation.
    public static func translate<M: PhysicalMemoryReader>(
        _ virtualAddress: UInt64, satp: UInt64, memory: inout M
    ) -> UInt64? {
        walk(virtualAddress, satp: satp, memory: &memory)?.physicalAddress
    }

    /// ``translate(_:satp:memory:)`` that also returns the leaf entry (0 for
    /// Bare), so a caller can tell whether the access would page-fault.
    public static func walk<M: PhysicalMemoryReader>(
        _ virtualAddress: UInt64, satp: UInt64, memory: inout M
    ) -> (physicalAddress: UInt64, entry: UInt64)? {
        let levels: Int
        switch satp >> 60 {
        case 0: return (virtualAddress, 0)
        case 8: levels = 3
        case 9: levels = 4
        case 10: levels = 5
        default: return nil
        }
        // Bits 63 down to the top bit of the virtual address must all equal
        // that bit (Sv39: bits 63-39 equal bit 38), or the access page-faults.
        let upper = Int64(bitPattern: virtualAddress) >> (11 + 9 * Int64(levels))
        guard upper == 0 || upper == -1 else { return nil }
        var table = (satp & AddressTranslation.ppnMask) << 12
        var level = levels - 1
        while level >= 0 {
            let vpn = (virtualAddress >> (12 + 9 * UInt64(level))) & 0x1FF
            guard let pte = memory.read64(table &+ vpn * 8) else { return nil }
            let valid = pte & 1 != 0
            let read = pte & 2 != 0, write = pte & 4 != 0, execute = pte & 8 != 0
            guard valid, !(write && !read) else { return nil }
            let ppn = (pte >> 10) & ((1 << 44) - 1)
            if read || execute {
                // A leaf: a superpage's low PPN fields must be zero.
                let pageBits = 12 + 9 * UInt64(level)
                let lowMask: UInt64 = (1 << pageBits) - 1
                guard (ppn << 12) & lowMask == 0 else { return nil }
                return ((ppn << 12) | (virtualAddress & lowMask), pte)
            }
            table = ppn << 12
            level -= 1
        }
        return nil
    }
}
