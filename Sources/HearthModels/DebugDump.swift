import Foundation

/// `HEARTH_DUMP=DIR` writes named intermediate tensors of each forward pass to DIR/NAME.bin (raw f32), the names
/// llama.cpp's graph uses, so a run can be compared tensor by tensor with llama.cpp's eval callback.
enum DebugDump {
    static let directory: String? = ProcessInfo.processInfo.environment["HEARTH_DUMP"]

    @inline(__always)
    static func write(_ name: @autoclosure () -> String, _ p: UnsafePointer<Float>, _ count: Int) {
        guard let dir = directory else { return }
        FileManager.default.createFile(atPath: "\(dir)/\(name()).bin", contents: Data(bytes: p, count: count * 4))
    }
}
