#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The x86 features the kernels care about, read once. On Linux from the `flags` line of /proc/cpuinfo (the
/// kernel clears flags whose register state the OS does not save, so a listed AVX-512 is usable); elsewhere
/// everything is reported absent and the portable scalar path runs.
public struct CPUFeatures: Sendable, CustomStringConvertible {
    public var avx2 = false, fma = false, f16c = false
    public var avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false
    public var avxvnni = false

    public static let current: CPUFeatures = {
        var f = CPUFeatures()
        #if arch(x86_64) && os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return f }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" })
                .map(String.init))
            f.avx2 = flags.contains("avx2"); f.fma = flags.contains("fma"); f.f16c = flags.contains("f16c")
            f.avx512f = flags.contains("avx512f"); f.avx512bw = flags.contains("avx512bw")
            f.avx512vl = flags.contains("avx512vl"); f.avx512vnni = flags.contains("avx512_vnni")
            f.avx512bf16 = flags.contains("avx512_bf16"); f.avxvnni = flags.contains("avx_vnni")
            break
        }
        #endif
        return f
    }()

    /// The best kernel ISA these features allow.
    public var bestISA: KernelISA {
        if avx2 && fma && f16c && avx512f && avx512bw && avx512vl && avx512vnni { return .avx512 }
        if avx2 && fma && f16c { return .avx2 }
        return .scalar
    }

    public var description: String {
        var names: [String] = []
        if avx2 { names.append("avx2") }; if fma { names.append("fma") }; if f16c { names.append("f16c") }
        if avx512f { names.append("avx512f") }; if avx512bw { names.append("avx512bw") }
        if avx512vl { names.append("avx512vl") }; if avx512vnni { names.append("avx512vnni") }
        if avx512bf16 { names.append("avx512bf16") }; if avxvnni { names.append("avxvnni") }
        return names.isEmpty ? "(none)" : names.joined(separator: " ")
    }
}

/// Which kernel family runs. `avx512` needs AVX-512 F/BW/VL/VNNI (compiled for icelake-server), `avx2` needs
/// AVX2/FMA/F16C (compiled for haswell), `scalar` is portable Swift.
public enum KernelISA: String, Sendable, CaseIterable, Comparable {
    case scalar, avx2, avx512

    public static func < (a: KernelISA, b: KernelISA) -> Bool { a.rank < b.rank }
    private var rank: Int { self == .scalar ? 0 : self == .avx2 ? 1 : 2 }

    /// True when this CPU can run the path.
    public var isSupported: Bool { self <= CPUFeatures.current.bestISA }

    /// Paths this CPU can run, slowest first.
    public static var supported: [KernelISA] { allCases.filter(\.isSupported) }

    /// The path `matmul` uses: the best supported one, or `HEARTH_ISA=scalar|avx2|avx512` when set (a request
    /// above what the CPU supports falls back to the best supported path).
    public static let selected: KernelISA = {
        let best = CPUFeatures.current.bestISA
        if let env = getenv("HEARTH_ISA"), let want = KernelISA(rawValue: String(cString: env).lowercased()) {
            return min(want, best)
        }
        return best
    }()

    /// One line for `hearth bench` / `--verbose`.
    public static var summary: String {
        "kernels: \(selected.rawValue) (cpu: \(CPUFeatures.current))"
    }
}
