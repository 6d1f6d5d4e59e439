import HearthFormats
import HearthTensors

/// libFuzzer harness: arbitrary bytes as a SafeTensors file (`SafeTensorsFile(mapped:)`: u64 header length, JSON
/// header, data), then what the BERT loader does with one that parsed: look every entry up by name, take its
/// tensor view and read its first and last byte. Errors are fine; crashes, ASan reports, leaks and large
/// allocations are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensorsFile(mapped: MappedFile(copying: bytes, name: "fuzz.safetensors")) else { return 0 }
    var sum: UInt8 = 0
    for entry in file.entries {
        guard let e = file.entry(entry.name) else { fatalError("entry \(entry.name) listed but not found") }
        let raw = file.bytes(of: e)
        if let first = raw.first, let last = raw.last { sum &+= first &+ last }
        _ = e.elementCount
        if let view = file.view(entry.name), view.byteCount > 0 {
            let p = view.data.assumingMemoryBound(to: UInt8.self)
            sum &+= p[0] &+ p[view.byteCount - 1]
        }
    }
    return sum == 0 ? 0 : 0
}
